import { z } from "zod";

/**
 * When the host shares its GPUs: a list of weekly windows in one time zone. Outside every window
 * the node drains (takes no new work, finishes what runs). No windows at all means always open.
 */

export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Day = (typeof DAYS)[number];

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;

/** "mon" or a range like "mon-fri" (wrapping ranges such as "fri-mon" are allowed). */
const DayToken = z
  .string()
  .regex(
    /^(sun|mon|tue|wed|thu|fri|sat)(-(sun|mon|tue|wed|thu|fri|sat))?$/,
    'a day ("mon") or range ("mon-fri")',
  );

export const OperatingWindowConfig = z
  .object({
    days: z.array(DayToken).min(1, "name at least one day"),
    start: z.string().regex(TIME, 'a time "HH:MM" (00:00–23:59)'),
    end: z.string().regex(TIME, 'a time "HH:MM" (00:00–24:00)'),
  })
  .strict()
  .superRefine((window, ctx) => {
    if (window.start === "24:00") {
      ctx.addIssue({ code: "custom", path: ["start"], message: "a window cannot start at 24:00; use 00:00" });
    }
    if (minutesOf(window.start) === minutesOf(window.end)) {
      ctx.addIssue({
        code: "custom",
        path: ["end"],
        message: `a window from ${window.start} to ${window.end} is empty; for a whole day use "00:00" to "24:00"`,
      });
    }
    const seen = new Set<Day>();
    for (const token of window.days) {
      for (const day of expandDays(token)) {
        if (seen.has(day)) {
          ctx.addIssue({
            code: "custom",
            path: ["days"],
            message: `${day} is named more than once; each day may appear once per window`,
          });
          return;
        }
        seen.add(day);
      }
    }
  });
export type OperatingWindowConfig = z.infer<typeof OperatingWindowConfig>;

/** An IANA zone the runtime knows ("Europe/Berlin"); unset means the host's own zone. */
export const TimeZoneName = z.string().refine(isKnownTimeZone, "an IANA time zone such as Europe/Berlin");

export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface CompiledWindow {
  days: ReadonlySet<Day>;
  start: number;
  end: number;
}

export class OperatingSchedule {
  private readonly windows: CompiledWindow[];
  private readonly format: Intl.DateTimeFormat;

  constructor(windows: readonly OperatingWindowConfig[], timeZone?: string) {
    this.windows = windows.map((window) => ({
      days: new Set(window.days.flatMap(expandDays)),
      start: minutesOf(window.start),
      end: minutesOf(window.end),
    }));
    this.format = new Intl.DateTimeFormat("en-US", {
      ...(timeZone ? { timeZone } : {}),
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
  }

  get alwaysOpen(): boolean {
    return this.windows.length === 0;
  }

  /** Whether the host shares its GPUs at this instant (ms since the epoch). */
  isOpen(at: number): boolean {
    if (this.windows.length === 0) return true;
    const { day, minute } = this.localTime(at);
    const yesterday = DAYS[(DAYS.indexOf(day) + 6) % 7] ?? day;
    return this.windows.some((window) => {
      if (window.start < window.end)
        return window.days.has(day) && minute >= window.start && minute < window.end;
      // Crosses midnight: it opens on a listed day and runs on into the next morning.
      return (
        (window.days.has(day) && minute >= window.start) ||
        (window.days.has(yesterday) && minute < window.end)
      );
    });
  }

  private localTime(at: number): { day: Day; minute: number } {
    const parts = this.format.formatToParts(new Date(at));
    const part = (type: string): string => parts.find((entry) => entry.type === type)?.value ?? "";
    const weekday = part("weekday").toLowerCase().slice(0, 3);
    const day = DAYS.find((name) => name === weekday) ?? "sun";
    return { day, minute: Number(part("hour")) * 60 + Number(part("minute")) };
  }
}

function minutesOf(time: string): number {
  const [hours = "0", minutes = "0"] = time.split(":");
  return Number(hours) * 60 + Number(minutes);
}

export function expandDays(token: string): Day[] {
  const [first, last] = token.split("-");
  const from = dayIndex(first);
  if (from < 0) return [];
  if (last === undefined) return [DAYS[from] ?? "sun"];
  const to = dayIndex(last);
  if (to < 0) return [];
  const span = (to - from + 7) % 7;
  return Array.from({ length: span + 1 }, (_, offset) => DAYS[(from + offset) % 7] ?? "sun");
}

function dayIndex(name: string | undefined): number {
  const day = DAYS.find((entry) => entry === name);
  return day === undefined ? -1 : DAYS.indexOf(day);
}
