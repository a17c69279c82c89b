/**
 * What a Region object pushes to a log follower (the Worker's `logs?follow=1` handler), one JSON
 * object per line: each batch of output as it is stored, tagged with its chunk's seq (the follower
 * skips chunks it already sent from storage), then `end` once the job has left the region.
 */
export interface LogBatchFrame {
  seq: number;
  attemptId: string;
  data: string;
}
export type LogFrame = LogBatchFrame | { end: true };

export function encodeLogFrame(frame: LogFrame): string {
  return `${JSON.stringify(frame)}\n`;
}

/** Splits a frame stream into frames; a partial last line waits for the rest. */
export class LogFrameReader {
  private buffered = "";

  push(text: string): LogFrame[] {
    this.buffered += text;
    const lines = this.buffered.split("\n");
    this.buffered = lines.pop() ?? "";
    return lines.filter((line) => line.length > 0).map((line) => JSON.parse(line) as LogFrame);
  }
}
