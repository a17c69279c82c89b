import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cli-error.js";
import {
  configPath,
  DEFAULT_API_URL,
  loadConfig,
  resolveSettings,
  saveConfig,
} from "../../src/cli/config.js";

describe("resolveSettings", () => {
  const config = { apiUrl: "http://config:1", apiKey: "key-config" };
  const env = { MERIDIAN_API_URL: "http://env:1", MERIDIAN_API_KEY: "key-env" };

  it("prefers flags over the environment over the config file", () => {
    expect(resolveSettings({ apiUrl: "http://flag:1", apiKey: "key-flag" }, env, config)).toEqual({
      apiUrl: "http://flag:1",
      apiKey: "key-flag",
    });
    expect(resolveSettings({}, env, config)).toEqual({ apiUrl: "http://env:1", apiKey: "key-env" });
    expect(resolveSettings({}, {}, config)).toEqual({ apiUrl: "http://config:1", apiKey: "key-config" });
  });

  it("falls back to the local default URL and no key", () => {
    expect(resolveSettings({}, {}, {})).toEqual({ apiUrl: DEFAULT_API_URL, apiKey: undefined });
  });

  it("takes each setting from its own best source and drops a trailing slash", () => {
    expect(resolveSettings({ apiKey: "key-flag" }, { MERIDIAN_API_URL: "http://env:1/" }, config)).toEqual({
      apiUrl: "http://env:1",
      apiKey: "key-flag",
    });
  });
});

describe("configPath", () => {
  it("honours MERIDIAN_CONFIG, then XDG_CONFIG_HOME, then ~/.config", () => {
    expect(configPath({ MERIDIAN_CONFIG: "/x/c.json", HOME: "/home/u" })).toBe("/x/c.json");
    expect(configPath({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" })).toBe("/xdg/meridian/config.json");
    expect(configPath({ HOME: "/home/u" })).toBe("/home/u/.config/meridian/config.json");
  });
});

describe("config file", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "meridian-cli-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads as empty when missing, and round-trips what is saved with mode 0600", async () => {
    const path = join(dir, "nested", "config.json");
    expect(await loadConfig(path)).toEqual({});
    await saveConfig(path, { apiUrl: "http://a:1", apiKey: "secret" });
    expect(await loadConfig(path)).toEqual({ apiUrl: "http://a:1", apiKey: "secret" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("tightens the mode of an existing file when saving over it", async () => {
    const path = join(dir, "config.json");
    await writeFile(path, "{}", { mode: 0o644 });
    await saveConfig(path, { apiKey: "secret" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ apiKey: "secret" });
  });

  it("reports a broken file by name", async () => {
    const path = join(dir, "config.json");
    await writeFile(path, "{not json");
    await expect(loadConfig(path)).rejects.toThrow(CliError);
    await expect(loadConfig(path)).rejects.toThrow(path);
  });
});
