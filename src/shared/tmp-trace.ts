import { AsyncLocalStorage } from "node:async_hooks";

const als = new AsyncLocalStorage<{ id: string; where: string }>();

export function traced<T>(id: string, where: string, f: () => Promise<T>): Promise<T> {
  return als.run({ id, where }, async () => {
    const t = Date.now();
    console.log(`TRACE ${JSON.stringify({ id, where, l: "begin", at: t })}`);
    try {
      return await f();
    } finally {
      console.log(`TRACE ${JSON.stringify({ id, where, l: "end", at: Date.now(), ms: Date.now() - t })}`);
    }
  });
}

export async function span<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    const s = als.getStore();
    if (s) console.log(`TRACE ${JSON.stringify({ id: s.id, where: s.where, l: label, at: t, ms: Date.now() - t })}`);
  }
}
