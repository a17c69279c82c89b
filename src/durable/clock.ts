/** Where a part of the region reads time. The Region object passes the system clock; tests a fake one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
