import { runCli } from "../../src/cli/cli.js";

/** What one in-process run of the CLI printed, and how it exited. */
export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** How many separate writes to stdout (a streamed answer arrives in many). */
  readonly writes: number;
}

/**
 * Runs the CLI in this process, as a user runs it, with `env` as its whole environment; `onStdout`
 * sees the output so far after each write to stdout.
 */
export async function captureCli(
  args: readonly string[],
  env: Record<string, string>,
  onStdout: (soFar: string) => void = () => {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  let writes = 0;
  const status = await runCli(args, {
    stdout: (text) => {
      stdout += text;
      writes += 1;
      onStdout(stdout);
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    fetch: globalThis.fetch,
  });
  return { status, stdout, stderr, writes };
}
