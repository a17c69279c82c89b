// What `npm start` shows of wrangler's output. wrangler dev prints its banner, a table of every
// binding and variable, a cron hint, a line per request (the agent's long polls among them) and, when
// a client hangs up, workerd's broken-pipe trace; none of it is news to someone starting a local
// network. Errors, warnings we do not know, 5xx answers and anything unrecognised still show.
// MERIDIAN_VERBOSE=1 shows every line.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what we strip.
const ANSI = /\u001b\[[0-9;]*m/g;

/** Lines dropped on their own. */
const NOISE = [
  /^$/,
  /^⛅️ wrangler /,
  /^─+$/,
  /^\[custom build\]/,
  /^Using (secrets|vars) defined in /,
  /^Your Worker has access to the following bindings:/,
  /^Binding\s+Resource\s+Mode$/,
  /^env\.\S+ \(.*\)\s+\S.*\s(local|remote)$/,
  /^❓ Your types might be out of date/,
  /^⎔ (Starting|Reloading) local server/,
  /^🪵 {1,2}Logs were written to /,
  /^\[wrangler:info\] Ready on /,
  // wrangler 4 runs the [build] command again once its watcher is ready and names the watched folder
  // as "changed"; a real change names the file.
  /^The file (\S*\/)?src\/console changed, restarting build\.\.\.$/,
  // A request line, unless the Worker answered with a server error.
  /^\[wrangler:info\] [A-Z]+ \S+ [1-4]\d\d /,
];

/** The first line of a block whose following lines (indented, or blank) go with it. */
const NOISY_BLOCKS = [
  /^▲ \[WARNING\] Scheduled Workers are not automatically triggered/,
  /^\[wrangler:warn\] Unable to fetch the `Request\.cf` object/,
  // A client that hung up mid-answer (a health check that gave up): workerd's trace of the write.
  /^✘ \[ERROR\] kj::getCaughtExceptionAsKj\(\) = .*disconnected: ::write.*Broken pipe/,
];

/** A line that continues the block above it. */
const CONTINUATION = /^(\s|Error: getaddrinfo|$)/;

/**
 * A stateful filter for wrangler's lines: `keep(line)` says whether to print it.
 * @param {{ verbose?: boolean }} [options]
 */
export function wranglerOutputFilter(options = {}) {
  let inBlock = false;
  return {
    /** @param {string} line */
    keep(line) {
      if (options.verbose) return true;
      const text = line.replace(ANSI, "").trimEnd();
      if (inBlock && CONTINUATION.test(text)) return false;
      const plain = text.trimStart();
      inBlock = NOISY_BLOCKS.some((pattern) => pattern.test(plain));
      if (inBlock) return false;
      return !NOISE.some((pattern) => pattern.test(plain));
    },
  };
}
