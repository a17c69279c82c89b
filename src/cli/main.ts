import { runCli } from "./cli.js";

// A reader that goes away (`meridian jobs logs -f | head`) is a normal end, not a crash.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

// The one place the CLI meets the process: everything below runCli takes its I/O as arguments.
const status = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  fetch: globalThis.fetch,
});
process.exitCode = status;
