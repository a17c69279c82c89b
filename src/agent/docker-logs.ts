import { Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";
import type { LogOffsets, LogSink, LogStream } from "./container-runtime.js";

/**
 * Splits Docker's multiplexed stream into stdout and stderr text, keeping UTF-8 characters whole;
 * the first `skip` bytes of each stream (delivered before an agent restart) are left out.
 */
export function pipeLogs(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onLog: LogSink,
  skip: LogOffsets = { stdout: 0, stderr: 0 },
): Promise<void> {
  const sink = (name: LogStream): Writable => {
    const decoder = new StringDecoder("utf8");
    let skipping = skip[name];
    return new Writable({
      write(raw: Buffer, _encoding, callback) {
        let chunk = raw;
        if (skipping > 0) {
          const dropped = Math.min(skipping, chunk.length);
          skipping -= dropped;
          chunk = chunk.subarray(dropped);
        }
        const data = decoder.write(chunk);
        if (data.length > 0) onLog(name, data);
        callback();
      },
      final(callback) {
        const rest = decoder.end();
        if (rest.length > 0) onLog(name, rest);
        callback();
      },
    });
  };
  const stdout = sink("stdout");
  const stderr = sink("stderr");
  docker.modem.demuxStream(stream, stdout, stderr);
  return new Promise((resolve) => {
    const finish = (): void => {
      stdout.end();
      stderr.end();
      resolve();
    };
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
  });
}
