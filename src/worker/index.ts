import { app } from "./app.js";

export { RegionObject } from "../durable/region-object.js";

export default app satisfies ExportedHandler<Env>;
