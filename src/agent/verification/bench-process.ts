import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/**
 * A running gpu-bench.py, wherever it runs (a host process or a container): JSON lines in on
 * stdin, JSON lines out on stdout, progress on stderr.
 */
export interface BenchProcess {
  readonly stdin: NodeJS.WritableStream;
  /** stdout, one line at a time. */
  readonly lines: AsyncIterator<string>;
  /** The last few KiB of stderr, for the error message when the script fails. */
  stderrTail(): string;
  readonly exited: Promise<number>;
  kill(): Promise<void>;
}

export interface BenchLauncher {
  /** What the agent reports as the runner: a container (with its image) or a host process. */
  readonly mode: "container" | "host-process";
  readonly image?: string;
  launch(): Promise<BenchProcess>;
}

export function lineReader(stdout: Readable): AsyncIterator<string> {
  return createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
}

/** Keeps the end of a stream's text: enough to explain a failure, bounded however long it runs. */
export function tailKeeper(stream: Readable, limit = 8192): () => string {
  let tail = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-limit);
  });
  return () => tail;
}
