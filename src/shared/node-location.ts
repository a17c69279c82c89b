import { z } from "zod";

/**
 * Where a node is, as its agent reports it (config `location`): coordinates, or just a country.
 * Without either, the control plane uses its own view of the agent's connection (request.cf).
 */
export const NodeLocation = z.union([
  z
    .object({
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
      country: z
        .string()
        .regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 country code such as DE")
        .optional(),
    })
    .strict(),
  z
    .object({ country: z.string().regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 country code such as DE") })
    .strict(),
]);
export type NodeLocation = z.infer<typeof NodeLocation>;

/** A measured bandwidth to the control plane; over 1,000 Gbit/s is not a measurement of anything real. */
export const BandwidthGbps = z.number().positive().max(1000);

/** The location a node record keeps, and where it came from. */
export interface LocationFact {
  lat?: number | undefined;
  lon?: number | undefined;
  country?: string | undefined;
  source: "agent" | "connection";
}
