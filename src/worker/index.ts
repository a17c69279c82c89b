import { app } from "./app.js";

export { RateLimiter } from "../durable/rate-limiter.js";
export { RegionObject } from "../durable/region-object.js";

export default app satisfies ExportedHandler<Env>;
