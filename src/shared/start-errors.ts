/**
 * Container engine refusals that are the job's own doing, not the node's: an image reference
 * that does not parse, an image that does not exist, a command the image does not have, a config
 * the engine rejects. Matched on the engine's message (Docker and OCI runtimes word them so), so
 * that an agent can report them as `errorKind: "spec"` and the region can tell them from a
 * `runtime` report of an agent that did not.
 */
const USER_START_ERRORS: readonly RegExp[] = [
  /invalid reference format/i,
  /repository name must be (lowercase|canonical)/i,
  /no such image/i,
  /manifest unknown|pull access denied|repository does not exist/i,
  /executable file not found/i,
  /exec: "[^"]*": (no such file or directory|permission denied)/i,
  /exec format error/i,
  /invalid environment variable/i,
  /(working directory|mount path|volume) .*(is invalid|must be absolute|needs to be an absolute path)/i,
  /invalid (mount config|volume specification|port specification|restart policy)/i,
];

/** Whether an engine's refusal to start a container is the job's own (its image, command or config). */
export function isUserStartError(message: string | undefined): boolean {
  return message !== undefined && USER_START_ERRORS.some((pattern) => pattern.test(message));
}

/** The `errorKind` an agent reports for an engine's refusal to start a container. */
export const startErrorKind = (message: string): "spec" | "runtime" =>
  isUserStartError(message) ? "spec" : "runtime";
