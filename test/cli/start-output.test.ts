import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types; its one export is typed below.
import { wranglerOutputFilter as untyped } from "../../scripts/wrangler-output.mjs";

type Filter = (options?: { verbose?: boolean }) => { keep(line: string): boolean };
const wranglerOutputFilter = untyped as Filter;

// What wrangler dev 4.86.0 printed under `npm start` on this machine (values shortened).
const STARTUP = [
  "",
  " ⛅️ wrangler 4.86.0 (update available 4.164.0)",
  "──────────────────────────────────────────────",
  "[custom build] Running: node scripts/build-console.mjs --quiet",
  "Using secrets defined in .dev.vars",
  "Your Worker has access to the following bindings:",
  "Binding                                            Resource                  Mode",
  "env.REGION (RegionObject)                          Durable Object            local",
  'env.REGIONS ("[{"id":"us-east","lat":39.0,"lon":-77...")     Environment Variable      local',
  'env.SOLANA_RPC_URL ("(hidden)")                    Environment Variable      local',
  "",
  "❓ Your types might be out of date. Re-run `wrangler types` to ensure your types are correct.",
  "[wrangler:warn] Unable to fetch the `Request.cf` object! Falling back to a default placeholder...",
  "Error: getaddrinfo ENOTFOUND workers.cloudflare.com",
  "    at GetAddrInfoReqWrap.onlookupall [as oncomplete] (node:dns:122:26)",
  "    at GetAddrInfoReqWrap.callbackTrampoline (node:internal/async_hooks:130:17)",
  "The file src/console changed, restarting build...",
  "\u001b[33m▲ \u001b[43;33m[\u001b[43;30mWARNING\u001b[43;33m]\u001b[0m \u001b[1mScheduled Workers are not automatically triggered during local development.\u001b[0m",
  "",
  "  To manually trigger a scheduled event, run:",
  '    curl "http://127.0.0.1:18787/cdn-cgi/handler/scheduled"',
  "",
  "⎔ Starting local server...",
  "[wrangler:info] Ready on http://127.0.0.1:18787",
  "[wrangler:info] GET /v1/health 200 OK (6675ms)",
  "\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1mkj::getCaughtExceptionAsKj() = kj/async-io-unix.c++:186: disconnected: ::write(fd, buffer.begin(), buffer.size()): Broken pipe\u001b[0m",
  "",
  "  stack: /node_modules/@cloudflare/workerd-linux-64/bin/workerd@51faac1 workerd@51fb771",
  "",
  "[wrangler:info] POST /v1/agent/register 409 Conflict (130ms)",
  "[wrangler:info] POST /v1/agent/register 401 Unauthorized (160ms)",
  "[wrangler:info] POST /v1/agent/register 200 OK (102ms)",
  "[wrangler:info] GET /v1/agent/presence 101 Switching Protocols (10ms)",
  '🪵  Logs were written to "/root/.config/.wrangler/logs/wrangler-2026-12-01_13-53-25_579.log"',
];

describe("npm start's view of wrangler's output", () => {
  it("drops the banner, the bindings table, the cf fetch trace, the cron hint, request lines and hang-ups", () => {
    const filter = wranglerOutputFilter();
    expect(STARTUP.filter((line) => filter.keep(line))).toEqual([]);
  });

  it("keeps errors, warnings it does not know, 5xx answers, a real file change and the Worker's own lines", () => {
    const filter = wranglerOutputFilter();
    const worth = [
      "✘ [ERROR] Build failed with 1 error:",
      '  src/worker/index.ts:3:7: ERROR: Expected ";" but found "x"',
      "▲ [WARNING] Processing wrangler.toml configuration: unexpected field",
      "[wrangler:info] POST /v1/jobs 500 Internal Server Error (12ms)",
      "The file src/console/pages/job.tsx changed, restarting build...",
      '{"msg":"log follow ended early","jobId":"job_1"}',
    ];
    expect(worth.filter((line) => filter.keep(line))).toEqual(worth);
  });

  it("shows every line with MERIDIAN_VERBOSE=1", () => {
    const filter = wranglerOutputFilter({ verbose: true });
    expect(STARTUP.filter((line) => filter.keep(line))).toEqual(STARTUP);
  });
});
