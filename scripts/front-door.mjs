// What `npm start` tells a newcomer and prepares for them: migrations applied quietly, the demo
// image built when Docker answers and it is missing, and the URLs and a first job at the end.
// (scripts/start.mjs owns the processes and their order; this file owns the words and the image.)
import { spawn, spawnSync } from "node:child_process";

const DEMO_IMAGE = "meridian/busybox:test";
/** The engine of examples/endpoint.yaml (test-images/llm), built by the same script. */
const ENGINE_IMAGE = "meridian/llm:test";

function say(message) {
  process.stdout.write(`[start] ${message}\n`);
}

/**
 * Applies the D1 migrations with wrangler, printing one line instead of wrangler's tables; its
 * whole output is shown only when it fails.
 */
export async function applyMigrations(persist, env) {
  say("applying D1 migrations (local)");
  const child = spawn("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", ...persist], {
    // Without a terminal wrangler would otherwise ask before applying.
    env: { ...env, CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const code = await new Promise((resolve) => {
    child.on("exit", (status) => resolve(status ?? 1));
    child.on("error", () => resolve(1));
  });
  if (code !== 0) {
    process.stderr.write(`${output}\n[start] applying migrations failed (exit ${code})\n`);
    return false;
  }
  const applied = (output.match(/│\s*\d{4}_[\w-]+\.sql\s*│\s*✅/g) ?? []).length;
  say(applied > 0 ? `applied ${applied} migration${applied === 1 ? "" : "s"}` : "migrations are up to date");
  return true;
}

/** Whether a command answers with status 0 within 10 s. */
function answers(command, args) {
  return spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
}

/**
 * Builds the demo image (meridian/busybox:test, from the host's busybox) when a Docker engine
 * answers and the image is missing, so the first job runs without a separate step. Says plainly
 * what is missing otherwise; never stops the start.
 */
export function ensureDemoImage() {
  if (!answers("docker", ["info", "--format", "{{.ServerVersion}}"])) {
    say("no Docker engine answers: the control plane runs, jobs wait until one does (start dockerd)");
    return;
  }
  if (
    answers("docker", ["image", "inspect", DEMO_IMAGE]) &&
    answers("docker", ["image", "inspect", ENGINE_IMAGE])
  )
    return;
  if (!answers("busybox", ["true"])) {
    say(
      `the demo image ${DEMO_IMAGE} is missing and busybox is not installed to build it: apt-get install busybox-static`,
    );
    return;
  }
  say(
    `building the demo images ${DEMO_IMAGE} and ${ENGINE_IMAGE} (once; the engine's packages take a minute)`,
  );
  const built = spawnSync("bash", ["scripts/build-test-images.sh"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (built.status !== 0)
    say(`building the demo images failed; run bash scripts/build-test-images.sh to see why`);
}

/** The last thing `npm start` prints: where things are, and a first job to paste. */
export function nextSteps(url, dataDir) {
  // `npm link` puts a `meridian` command on the PATH; this form needs nothing installed.
  const cli = "npm run -s cli --";
  return `
Meridian is running (one agent, data in ${dataDir}). Ctrl-C stops everything.

  console        ${url}
  API reference  ${url}/docs

A first job, in another terminal:

  ${cli} signup --api-url ${url}
  ${cli} jobs submit examples/hello.yaml
  ${cli} jobs logs <job id> -f

or open the console, sign up, and submit from its editor.
`;
}
