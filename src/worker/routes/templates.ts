import { Hono } from "hono";
import { z } from "zod";
import { MeridianError } from "../../shared/errors.js";
import { TEMPLATES, templateById } from "../../shared/templates/catalog.js";
import { JobTemplate } from "../../shared/templates/job-template.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";

const TemplateList = z.object({ templates: z.array(JobTemplate) });

/** GET /v1/templates: the pre-configured jobs; public, as a catalogue is. */
export const templateRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listTemplates",
      tag: "Templates",
      summary: "The job templates",
      description:
        "Pre-configured jobs (training, inference, rendering, notebooks) with their parameters; `jobs submit --template <id> --set k=v` fills one.",
      auth: "none",
      response: { schema: TemplateList, example: { templates: TEMPLATES.slice(0, 1) } },
    }),
    (c) => c.json({ templates: TEMPLATES }),
  )
  .get(
    "/:id",
    doc({
      id: "getTemplate",
      tag: "Templates",
      summary: "One job template",
      auth: "none",
      response: { schema: JobTemplate, example: TEMPLATES[0] },
    }),
    (c) => {
      const template = templateById(c.req.param("id"));
      if (!template) {
        throw new MeridianError(
          404,
          "template_not_found",
          `no template ${c.req.param("id").slice(0, 64)}; see GET /v1/templates`,
        );
      }
      return c.json(template);
    },
  );
