import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, captureCli } from "../support/cli-capture.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";

let plane: ControlPlane;
let dir: string;

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return captureCli(args, {
    HOME: dir,
    MERIDIAN_CONFIG: join(dir, "config.json"),
    MERIDIAN_API_URL: plane.url,
    ...env,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meridian-cli-keys-"));
  plane = await startControlPlane();
}, 120_000);

afterAll(async () => {
  await plane?.stop();
  await rm(dir, { recursive: true, force: true });
});

// `meridian keys list|create|revoke` against the real control plane (wrangler dev): the CLI's
// words, the shared client, the API's scope checks and the revocation's effect on requests.
describe("meridian keys", () => {
  it("creates scoped keys, lists them without secrets, and revokes one so its requests are refused", async () => {
    expect((await cli(["signup"])).status).toBe(0);

    const created = await cli(["keys", "create", "--scope", "read", "--name", "dashboard", "--json"]);
    expect(created.status, created.stderr).toBe(0);
    const readKey = JSON.parse(created.stdout) as { id: string; apiKey: string; scopes: string[] };
    expect(readKey.scopes).toEqual(["read"]);
    expect(readKey.apiKey).toMatch(/^mrd_/);

    const readable = await cli(["keys", "create", "--scope", "provider", "--scope", "read"]);
    expect(readable.status, readable.stderr).toBe(0);
    expect(readable.stdout).toMatch(/scopes:\s+provider, read/);
    expect(readable.stdout).toMatch(/api key:\s+mrd_/);
    expect(readable.stderr).toMatch(/shown only now/);

    const listed = await cli(["keys", "list"]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(readKey.id);
    expect(listed.stdout).toMatch(/dashboard\s+read\s/);
    // Three keys (sign-up, read, provider+read), and no secret anywhere in the list.
    expect(listed.stdout.trim().split("\n")).toHaveLength(4);
    expect(listed.stdout).not.toContain(readKey.apiKey);
    expect(listed.stdout).not.toMatch(/mrd_/);

    // The read key reads, but may not write nor manage keys.
    const asRead = { MERIDIAN_API_KEY: readKey.apiKey };
    expect((await cli(["jobs", "list"], asRead)).status).toBe(0);
    const refused = await cli(["keys", "create", "--scope", "full"], asRead);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/forbidden: this API key \(scopes read\) may not POST/);

    const revoked = await cli(["keys", "revoke", readKey.id, "--json"]);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect((JSON.parse(revoked.stdout) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const afterRevoke = await cli(["jobs", "list"], asRead);
    expect(afterRevoke.status).not.toBe(0);
    expect(afterRevoke.stderr).toMatch(/401|invalid|revoked|key/i);
    expect((await cli(["keys", "list"])).stdout).toMatch(new RegExp(`${readKey.id}.*revoked `));
  }, 60_000);

  it("creates a session key with --expires-in that lists with its end", async () => {
    expect((await cli(["signup"])).status).toBe(0);
    const before = Date.now();
    const created = await cli(["keys", "create", "--scope", "read", "--expires-in", "15m", "--json"]);
    expect(created.status, created.stderr).toBe(0);
    const session = JSON.parse(created.stdout) as { id: string; apiKey: string; expiresAt: string };
    const end = Date.parse(session.expiresAt);
    expect(end).toBeGreaterThanOrEqual(before + 900_000);
    expect(end).toBeLessThanOrEqual(Date.now() + 900_000);
    expect((await cli(["jobs", "list"], { MERIDIAN_API_KEY: session.apiKey })).status).toBe(0);
    const text = await cli(["keys", "create", "--scope", "read", "--expires-in", "1h"]);
    expect(text.stdout).toMatch(/expires at:\s+\d{4}-\d\d-\d\dT/);
    const listed = await cli(["keys", "list"]);
    expect(listed.stdout).toMatch(new RegExp(`${session.id}.*active until ${session.expiresAt}`));
    expect(listed.stdout).toMatch(/\sactive\n/);

    const badDuration = await cli(["keys", "create", "--scope", "read", "--expires-in", "soon"]);
    expect(badDuration.status).toBe(2);
    expect(badDuration.stderr).toMatch(/--expires-in takes a duration/);
    const tooLong = await cli(["keys", "create", "--scope", "read", "--expires-in", "2d"]);
    expect(tooLong.status).toBe(1);
    expect(tooLong.stderr).toMatch(/expiresInSeconds/);
  }, 60_000);

  it("refuses bad input before it is sent, and names the problem", async () => {
    const noScope = await cli(["keys", "create"]);
    expect(noScope.status).toBe(2);
    expect(noScope.stderr).toMatch(/at least one --scope/);
    const badScope = await cli(["keys", "create", "--scope", "admin"]);
    expect(badScope.status).toBe(2);
    expect(badScope.stderr).toMatch(/unknown scope "admin"/);
    const badId = await cli(["keys", "revoke", "job_123"]);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toMatch(/starts with key_/);
    const unknown = await cli(["keys", "revoke", "key_01aaaaaaaaaaaaaaaaaaaaaaaa"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no key/);
    const overview = await cli(["--help"]);
    expect(overview.stdout).toMatch(/keys create\s+create an API key/);
  }, 60_000);
});
