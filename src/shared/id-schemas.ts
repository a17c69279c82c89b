import { z } from "zod";
import { idPattern } from "./ids.js";

/** Zod schemas for ids that several messages carry (kept apart so message modules never import each other). */
export const NodeId = z.string().regex(idPattern("node"), "a node id");
export const AttemptId = z.string().regex(idPattern("att"), "an attempt id");
