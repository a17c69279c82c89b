import { Hono } from "hono";
import { MeridianError } from "../../shared/errors.js";
import { TEMPLATES, templateById } from "../../shared/templates/catalog.js";
import type { AppEnv } from "../hono-env.js";

/** GET /v1/templates: the pre-configured jobs; public, as a catalogue is. */
export const templateRoutes = new Hono<AppEnv>()
  .get("/", (c) => c.json({ templates: TEMPLATES }))
  .get("/:id", (c) => {
    const template = templateById(c.req.param("id"));
    if (!template) {
      throw new MeridianError(
        404,
        "template_not_found",
        `no template ${c.req.param("id").slice(0, 64)}; see GET /v1/templates`,
      );
    }
    return c.json(template);
  });
