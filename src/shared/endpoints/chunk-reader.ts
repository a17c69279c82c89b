/**
 * Reads a response body in large chunks. A stream that crossed from another Durable Object or a
 * subrequest is the runtime's own, and its default reader hands out 4 KiB per read: a body read
 * that way costs one trip through every JavaScript pump after it (the endpoint object, the Worker,
 * the runtime's proxy) per 4 KiB, which held streaming through the gateway near 1 MB/s. A BYOB
 * reader takes whatever has arrived, up to the buffer it is given. A small read (an event
 * stream's token) is copied out and its buffer reused, so a token never pins a large one.
 * A stream made in JavaScript (no byte source) is read with its default reader.
 */
export const READ_CHUNK_BYTES = 256 * 1024;
/** Reads smaller than this are copied out of the buffer, which is then reused. */
const COMPACT_BELOW = 16 * 1024;

export interface ChunkReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

export function chunkReader(source: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    byob = undefined;
  }
  if (!byob) {
    const plain = source.getReader();
    return {
      read: async () => {
        const { done, value } = await plain.read();
        return done ? { done: true } : { done: false, value };
      },
      cancel: (reason) => plain.cancel(reason),
    };
  }
  const reader = byob;
  let spare: ArrayBuffer | undefined;
  return {
    read: async () => {
      const buffer = spare ?? new ArrayBuffer(READ_CHUNK_BYTES);
      spare = undefined;
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || !value) return { done: true };
      if (value.byteLength >= COMPACT_BELOW) return { done: false, value };
      const small = value.slice();
      spare = value.buffer as ArrayBuffer;
      return { done: false, value: small };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
