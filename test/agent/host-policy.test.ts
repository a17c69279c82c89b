import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/agent/agent-config.js";
import { sharedHardware } from "../../src/agent/policy/hardware-share.js";
import { compareConfigs } from "../../src/agent/policy/host-policy.js";
import { ImagePolicy, normaliseImage } from "../../src/agent/policy/image-policy.js";
import { expandDays, OperatingSchedule } from "../../src/agent/policy/operating-window.js";
import type { HardwareReport } from "../../src/shared/hardware.js";

const base = { controlPlane: "http://localhost:8787" };
const parse = (extra: Record<string, unknown>) => parseConfig({ ...base, ...extra }, "test");

/** 2024-01-01 was a Monday; UTC instants make the day arithmetic plain. */
const at = (day: number, hour: number, minute = 0) => Date.UTC(2024, 0, day, hour, minute);

describe("host policy validation", () => {
  it("refuses an unknown key, at the top and inside a window", () => {
    expect(() => parse({ gpuShare: [0] })).toThrow(ConfigError);
    expect(() => parse({ windows: [{ days: ["mon"], start: "08:00", end: "18:00", zone: "UTC" }] })).toThrow(
      /windows\.0.*zone|unrecognized/is,
    );
  });

  it("refuses impossible windows with a message that says what is wrong", () => {
    expect(() => parse({ windows: [{ days: ["mon"], start: "25:00", end: "08:00" }] })).toThrow(
      /windows\.0\.start/,
    );
    expect(() => parse({ windows: [{ days: ["mon"], start: "22:00", end: "22:00" }] })).toThrow(/is empty/);
    expect(() => parse({ windows: [{ days: ["mon"], start: "24:00", end: "08:00" }] })).toThrow(
      /cannot start at 24:00/,
    );
    expect(() => parse({ windows: [{ days: [], start: "08:00", end: "18:00" }] })).toThrow(
      /at least one day/,
    );
    expect(() => parse({ windows: [{ days: ["monday"], start: "08:00", end: "18:00" }] })).toThrow(
      /windows\.0\.days/,
    );
  });

  it("refuses a day named twice in one window, directly or through a range", () => {
    expect(() => parse({ windows: [{ days: ["mon", "mon"], start: "08:00", end: "18:00" }] })).toThrow(
      /mon is named more than once/,
    );
    expect(() => parse({ windows: [{ days: ["mon-fri", "wed"], start: "08:00", end: "18:00" }] })).toThrow(
      /wed is named more than once/,
    );
  });

  it("refuses an unknown time zone, a bad wallet, and auto pricing without a floor", () => {
    expect(() => parse({ timeZone: "Mars/Olympus" })).toThrow(/timeZone/);
    expect(() => parse({ payoutWallet: "not-a-wallet" })).toThrow(/payoutWallet/);
    expect(() => parse({ pricePerGpuHour: "auto" })).toThrow(/priceFloorPerGpuHour/);
    expect(parse({ pricePerGpuHour: "auto", priceFloorPerGpuHour: "0.80" }).pricePerGpuHour).toBe("auto");
  });

  it("accepts a full policy", () => {
    const config = parse({
      gpus: [0, "GPU-7e109102-2255-084b-6271-2c83c6960a41"],
      limits: { cpus: 8, memoryMib: 32_768, diskMib: 100_000 },
      windows: [{ days: ["mon-fri"], start: "22:00", end: "08:00" }],
      timeZone: "Europe/Berlin",
      images: { allow: ["ghcr.io/acme/**"], deny: ["**:latest"] },
      payoutWallet: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
      metricsPort: 9400,
    });
    expect(config.windows).toHaveLength(1);
  });

  it("tells a re-registration change from a restart change", () => {
    const before = parse({});
    expect(compareConfigs(before, parse({ labels: { zone: "b" } }))).toEqual({
      reregister: true,
      needRestart: [],
    });
    expect(
      compareConfigs(before, parse({ windows: [{ days: ["sat"], start: "00:00", end: "24:00" }] })),
    ).toEqual({
      reregister: false,
      needRestart: [],
    });
    expect(compareConfigs(before, parse({ metricsPort: 9400 })).needRestart).toEqual(["metricsPort"]);
  });
});

describe("operating windows", () => {
  it("expands day ranges, wrapping over the weekend", () => {
    expect(expandDays("mon-fri")).toEqual(["mon", "tue", "wed", "thu", "fri"]);
    expect(expandDays("fri-mon")).toEqual(["fri", "sat", "sun", "mon"]);
  });

  it("opens at the start minute and closes at the end minute", () => {
    const schedule = new OperatingSchedule([{ days: ["mon"], start: "08:00", end: "18:00" }], "UTC");
    expect(schedule.isOpen(at(1, 7, 59))).toBe(false);
    expect(schedule.isOpen(at(1, 8, 0))).toBe(true);
    expect(schedule.isOpen(at(1, 17, 59))).toBe(true);
    expect(schedule.isOpen(at(1, 18, 0))).toBe(false);
    expect(schedule.isOpen(at(2, 9, 0))).toBe(false);
  });

  it("runs a window that crosses midnight on into the next day, and only from a listed day", () => {
    const schedule = new OperatingSchedule([{ days: ["mon-fri"], start: "22:00", end: "08:00" }], "UTC");
    expect(schedule.isOpen(at(1, 21, 59))).toBe(false);
    expect(schedule.isOpen(at(1, 22, 0))).toBe(true);
    expect(schedule.isOpen(at(2, 7, 59))).toBe(true);
    expect(schedule.isOpen(at(2, 8, 0))).toBe(false);
    // Friday night runs into Saturday morning; Saturday night is not listed.
    expect(schedule.isOpen(at(6, 3, 0))).toBe(true);
    expect(schedule.isOpen(at(6, 23, 0))).toBe(false);
    // Monday 03:00 would belong to Sunday night, which is not listed.
    expect(schedule.isOpen(at(1, 3, 0))).toBe(false);
  });

  it("treats overlapping windows on overlapping days as their union", () => {
    const schedule = new OperatingSchedule(
      [
        { days: ["fri"], start: "22:00", end: "08:00" },
        { days: ["sat"], start: "06:00", end: "10:00" },
      ],
      "UTC",
    );
    expect(schedule.isOpen(at(6, 7, 0))).toBe(true);
    expect(schedule.isOpen(at(6, 9, 59))).toBe(true);
    expect(schedule.isOpen(at(6, 10, 0))).toBe(false);
  });

  it("reads the windows in the configured zone, and 24:00 as the end of the day", () => {
    const schedule = new OperatingSchedule([{ days: ["mon"], start: "00:00", end: "24:00" }], "Asia/Tokyo");
    // Sunday 15:00 UTC is Monday 00:00 in Tokyo (UTC+9).
    expect(schedule.isOpen(at(7, 14, 59))).toBe(false);
    expect(schedule.isOpen(at(7, 15, 0))).toBe(true);
    expect(schedule.isOpen(at(1, 14, 59))).toBe(true);
    expect(schedule.isOpen(at(1, 15, 0))).toBe(false);
  });

  it("is always open without windows", () => {
    expect(new OperatingSchedule([]).isOpen(at(3, 12))).toBe(true);
  });
});

describe("image rules", () => {
  it("normalises short names as the Docker engine does", () => {
    expect(normaliseImage("busybox")).toBe("docker.io/library/busybox:latest");
    expect(normaliseImage("acme/tool:1")).toBe("docker.io/acme/tool:1");
    expect(normaliseImage("127.0.0.1:5000/meridian/busybox:test")).toBe(
      "127.0.0.1:5000/meridian/busybox:test",
    );
  });

  it("lets deny win over allow, and refuses what no allow pattern matches", () => {
    const policy = new ImagePolicy({
      allow: ["ghcr.io/acme/**", "docker.io/library/*"],
      deny: ["**:latest"],
    });
    expect(policy.decide("ghcr.io/acme/train/gpu:1.2")).toEqual({ allowed: true });
    expect(policy.decide("python:3.12")).toEqual({ allowed: true });
    expect(policy.decide("python")).toMatchObject({
      allowed: false,
      why: expect.stringContaining("**:latest"),
    });
    expect(policy.decide("evil.example/miner:1")).toMatchObject({
      allowed: false,
      why: expect.stringContaining("none"),
    });
  });

  it("keeps * inside one path component", () => {
    const policy = new ImagePolicy({ allow: ["ghcr.io/acme/*"] });
    expect(policy.decide("ghcr.io/acme/tool").allowed).toBe(true);
    expect(policy.decide("ghcr.io/acme/nested/tool").allowed).toBe(false);
  });
});

describe("hardware share", () => {
  const host: HardwareReport = {
    gpus: [
      { index: 0, uuid: "GPU-aaaa", name: "NVIDIA H100 80GB HBM3", vramMib: 81_559 },
      { index: 1, uuid: "GPU-bbbb", name: "NVIDIA H100 80GB HBM3", vramMib: 81_559 },
    ],
    cpus: 64,
    memoryMib: 512_000,
    diskFreeMib: 2_000_000,
    os: "Linux",
    arch: "x64",
  };

  it("reports only the shared GPUs and the capped resources", () => {
    const shared = sharedHardware(host, ["GPU-bbbb"], { cpus: 16, memoryMib: 1_000_000, diskMib: 500_000 });
    expect(shared.gpus.map((gpu) => gpu.uuid)).toEqual(["GPU-bbbb"]);
    expect(shared).toMatchObject({ cpus: 16, memoryMib: 512_000, diskFreeMib: 500_000 });
  });

  it("names a GPU the host does not have", () => {
    expect(() => sharedHardware(host, [2], {})).toThrow(/no GPU 2; it has: 0 \(GPU-aaaa\), 1 \(GPU-bbbb\)/);
  });
});
