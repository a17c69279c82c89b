#!/usr/bin/env node
// Runs every test suite: the workerd suites (Worker, Durable Object, D1; the plain one, then the one
// with verified GPUs required) and, at the same time, the Node suite (shared contract, agent on the
// real Docker engine, CLI, end-to-end). Each chain keeps one core busy: the workerd pool runs one
// file at a time and the Node suite runs its files one after another (they share Docker), so side
// by side they take about half the time they took in a row. MERIDIAN_TEST_SERIAL=1 runs them in a
// row, for a machine with one core. Lines are prefixed with their suite so they can be told apart.
// Suites that need a Docker engine skip loudly without one, unless MERIDIAN_REQUIRE_DOCKER=1 (set by
// .ci/run), where a missing engine fails the run.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { failuresIn } from "./test-report.mjs";

const extra = process.argv.slice(2);
const serial = process.env.MERIDIAN_TEST_SERIAL === "1";
// A long route fuzz (.ci/run asks for 8,500 cases) is split in two halves with different seeds: one
// runs in the workerd suite, the other after the Node suite, which ends first; so both chains end
// at about the same time instead of the workerd one running the whole fuzz alone at the end.
const fuzzCases = Number(process.env.FUZZ_CASES || 0);
const splitFuzz = !serial && extra.length === 0 && fuzzCases >= 2000;
const fuzzSeed = Number(process.env.FUZZ_SEED || Date.now() % 2 ** 31);
const firstHalf = splitFuzz
  ? { FUZZ_CASES: String(Math.ceil(fuzzCases / 2)), FUZZ_SEED: String(fuzzSeed) }
  : {};
const secondHalf = {
  FUZZ_CASES: String(Math.floor(fuzzCases / 2)),
  FUZZ_SEED: String((fuzzSeed + 1) % 2 ** 31),
};
const workerd = [
  { args: ["vitest", "run", "--config", "vitest.workers.config.ts", ...extra], env: firstHalf },
  // The production path: REQUIRE_VERIFIED_GPUS=true (test/worker/verified/).
  { args: ["vitest", "run", "--config", "vitest.workers-verified.config.ts", ...extra], env: {} },
];
const node = [
  { args: ["vitest", "run", "--config", "vitest.node.config.ts", ...extra], env: {} },
  ...(splitFuzz
    ? [
        {
          args: ["vitest", "run", "--config", "vitest.workers.config.ts", "test/worker/fuzz-routes.test.ts"],
          env: secondHalf,
        },
      ]
    : []),
];

/** Runs one vitest command, prefixing each output line; resolves to whether it passed. */
function run(args, env, prefix) {
  return new Promise((resolve) => {
    const child = spawn("npx", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        process.stdout.write(`${prefix} ${line}\n`);
      });
    }
    child.on("close", (code) => resolve(code === 0));
  });
}

const reports = mkdtempSync(join(tmpdir(), "meridian-test-"));
let reportCount = 0;
/** What the end of the run says again: each failure, and each file that passed only when run again. */
const recap = [];
// A file that fails is run once more on its own (at most MAX_RERUN files per command). One that then
// passes does not fail the run, but is named below as FLAKY, so a flake is seen and fixed, not hidden.
const MAX_RERUN = 3;

function withReport(args) {
  reportCount += 1;
  const path = join(reports, `report-${reportCount}.json`);
  return { path, args: [...args, "--reporter=default", "--reporter=json", `--outputFile.json=${path}`] };
}

async function chain(commands, prefix) {
  let passed = true;
  for (const { args, env } of commands) {
    const settings = Object.entries(env)
      .map(([name, value]) => `${name}=${value} `)
      .join("");
    const command = `${settings}npx ${args.join(" ")}`;
    if (settings) process.stdout.write(`${prefix} ${command}\n`);
    const first = withReport(args);
    if (await run(first.args, env, prefix)) continue;
    const failures = failuresIn(first.path);
    const rerunnable = failures && failures.files.length > 0 && failures.files.length <= MAX_RERUN;
    if (!rerunnable) {
      process.stdout.write(`${prefix} !!! FAILED: ${command}\n`);
      recap.push(
        `${prefix} FAILED: ${command}`,
        ...(failures?.lines.length
          ? failures.lines
          : ["  (no failed file in its report: see the log above)"]),
      );
      passed = false;
      continue;
    }
    process.stdout.write(`${prefix} !!! failed, running again on their own: ${failures.files.join(" ")}\n`);
    const configArgs = args.filter((arg) => !arg.endsWith(".test.ts"));
    const again = withReport([...configArgs, ...failures.files]);
    if (await run(again.args, env, prefix)) {
      recap.push(`${prefix} FLAKY (failed, then passed on its own): ${command}`, ...failures.lines);
      continue;
    }
    process.stdout.write(`${prefix} !!! FAILED twice: ${command}\n`);
    recap.push(`${prefix} FAILED twice: ${command}`, ...(failuresIn(again.path)?.lines ?? failures.lines));
    passed = false;
  }
  return passed;
}

const started = Date.now();
// Built once up front: both chains start `wrangler dev` or the workerd pool, which build it when stale,
// and two builds at once would write the same files.
const built = spawnSync(process.execPath, ["scripts/build-console.mjs", "--quiet"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);
const results = serial
  ? [await chain(workerd, "[workerd]"), await chain(node, "[node]")]
  : await Promise.all([chain(workerd, "[workerd]"), chain(node, "[node]")]);
const failed = results.includes(false);
if (recap.length > 0) console.log(`\n${recap.slice(0, 80).join("\n")}`);
console.log(
  `\nAll suites ${failed ? "did NOT all pass" : "passed"} in ${Math.round((Date.now() - started) / 1000)} s.`,
);
// Said again at the end, where it cannot scroll out of sight among the results.
const engine = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
  stdio: "pipe",
  timeout: 10_000,
});
if (engine.status !== 0) {
  console.warn(
    "\n!!! No Docker engine answered: the suites that run real containers were SKIPPED (agent Docker runtime,\n" +
      "!!! image pull, agent work loop, end-to-end, failover). Start dockerd, or run `bash .ci/run`, to run them.\n",
  );
}
process.exit(failed ? 1 : 0);
