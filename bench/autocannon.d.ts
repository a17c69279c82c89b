// The part of autocannon 9's API bench/load.ts uses (the package ships no types, and
// @types/autocannon would be one more dependency for one call).
declare module "autocannon" {
  namespace autocannon {
    interface Options {
      url: string;
      method?: "GET" | "POST" | "PUT" | "DELETE";
      headers?: Record<string, string>;
      body?: string;
      connections?: number;
      duration?: number;
      pipelining?: number;
      /** Requests made in turn by each connection; each may be rebuilt just before it is sent. */
      requests?: RequestSpec[];
    }
    /** The raw request autocannon is about to send (url's path, method, headers, body). */
    interface RawRequest {
      path?: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
    }
    interface RequestSpec {
      method?: "GET" | "POST" | "PUT" | "DELETE";
      /** A fresh `context` each time the connection starts its requests over. */
      setupRequest?: (request: RawRequest, context: Record<string, unknown>) => RawRequest;
      onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
    }
    interface Histogram {
      average: number;
      p50: number;
      p99: number;
    }
    interface Result {
      requests: Histogram;
      latency: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
