import { z } from "zod";

/** A replica's life as its endpoint sees it: placed and waiting for a node, then what its agent reports. */
export const ReplicaState = z.enum(["pending", "starting", "ready", "unready", "failed", "draining"]);
export type ReplicaState = z.infer<typeof ReplicaState>;
