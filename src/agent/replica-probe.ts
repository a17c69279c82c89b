import { request } from "node:http";

/** One readiness probe's outcome, with the words an endpoint's events show when it failed. */
export type ProbeResult = { ok: true; status: number } | { ok: false; detail: string };

/**
 * GET `path` on the container, as a Kubernetes HTTP probe does: 200–399 is ready; another status,
 * a refused connection or no answer within the timeout is not. A fresh connection each time, so a
 * probe never rides (or hides behind) a connection a request holds.
 */
export function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      probe.destroy();
      resolve(result);
    };
    const probe = request({ host, port, path, method: "GET", agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      settle(
        status >= 200 && status < 400
          ? { ok: true, status }
          : { ok: false, detail: `probe GET ${path} → ${status}` },
      );
    });
    const timer = setTimeout(
      () => settle({ ok: false, detail: `probe GET ${path}: no answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    probe.on("error", (error: NodeJS.ErrnoException) =>
      settle({ ok: false, detail: `probe GET ${path}: ${describe(error, port)}` }),
    );
    probe.end();
  });
}

function describe(error: NodeJS.ErrnoException, port: number): string {
  if (error.code === "ECONNREFUSED") return `connection refused (nothing listens on port ${port})`;
  if (error.code === "EHOSTUNREACH") return "the container is unreachable";
  return error.message;
}
