import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AgentLockError, acquireAgentLock, LOCK_FILE } from "../../src/agent/agent-lock.js";
import { AgentProcess } from "../support/agent-process.js";

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "meridian-lock-"));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => child.once("exit", resolve));
  if (child.pid === undefined) throw new Error("no pid");
  return child.pid;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("one agent per data folder", () => {
  it("refuses a second holder while the first lives, naming it, and lets one in once it let go", async () => {
    const dir = await dataDir();
    const lock = await acquireAgentLock(dir);
    const owner = JSON.parse(await readFile(path.join(dir, LOCK_FILE), "utf8")) as { pid: number };
    expect(owner.pid).toBe(process.pid);

    const refused = await acquireAgentLock(dir).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AgentLockError);
    expect(String(refused)).toContain(`another agent (pid ${process.pid}`);
    expect(String(refused)).toContain(dir);
    expect(String(refused)).toContain("one agent per identity");

    await lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const again = await acquireAgentLock(dir);
    await again.release();
  });

  it("takes over a lock left by a process that no longer runs, or one that is unreadable", async () => {
    const dir = await dataDir();
    const file = path.join(dir, LOCK_FILE);
    await writeFile(file, JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: 1 }));
    const lock = await acquireAgentLock(dir);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ pid: process.pid });
    await lock.release();

    await writeFile(file, "{half a lock");
    const second = await acquireAgentLock(dir);
    await second.release();
  });

  it("takes over a lock whose pid now belongs to another process (a reused pid)", async () => {
    const dir = await dataDir();
    // Our own pid, but a start time that is not ours: the process that wrote it is gone.
    await writeFile(
      path.join(dir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 1, processStart: 1 }),
    );
    const lock = await acquireAgentLock(dir);
    await lock.release();
  });

  it("a second meridian-agent on the same data folder exits at once and says why; the first runs on", async () => {
    const dir = await dataDir();
    // Nothing answers there: the first agent keeps trying to register, holding its lock.
    const first = new AgentProcess({ controlPlane: "http://127.0.0.1:9", dataDir: dir });
    try {
      const deadline = Date.now() + 30_000;
      while (!existsSync(path.join(dir, LOCK_FILE))) {
        if (!first.running || Date.now() > deadline) throw new Error(`no lock taken:\n${first.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const second = new AgentProcess({ controlPlane: "http://127.0.0.1:9", dataDir: dir });
      expect(await second.exited).toBe(1);
      expect(second.output()).toContain(`another agent (pid ${first.pid}`);
      expect(first.running).toBe(true);
    } finally {
      await first.kill("SIGTERM");
    }
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});
