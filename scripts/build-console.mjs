#!/usr/bin/env node
// Builds the web console (src/console → dist/console) unless the build is newer than every file it
// is made from. wrangler runs this before `wrangler dev` and `wrangler deploy` ([build] in
// wrangler.toml), and npm start / npm test call it, so a fresh clone always finds the assets.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "dist/console/index.html");
const sources = ["src/console", "src/shared", "package-lock.json"].map((path) => join(root, path));

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function builtAt() {
  try {
    return statSync(output).mtimeMs;
  } catch {
    return 0;
  }
}

if (builtAt() > Math.max(...sources.map(newest))) process.exit(0);
const quiet = process.argv.includes("--quiet");
if (!quiet) console.log("building the console (src/console → dist/console)…");
const vite = join(root, "node_modules/vite/bin/vite.js");
const run = spawnSync(
  process.execPath,
  [vite, "build", "--config", "src/console/vite.config.ts", "--logLevel", "warn"],
  {
    cwd: root,
    stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
  },
);
process.exit(run.status ?? 1);
