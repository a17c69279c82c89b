import { Hono } from "hono";
import { SecretCreate, SecretName } from "../../shared/storage/secrets-api.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody, parseOrThrow } from "../json-body.js";
import { deleteSecret, listSecrets, putSecret } from "../storage/secret-store.js";

/** /v1/secrets: values go in and never come out; only the agent of an attempt that needs one gets it. */
export const secretRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const body = await jsonBody(c, SecretCreate);
    return c.json(await putSecret(c.env, c.get("accountId"), body.name, body.value), 201);
  })
  .get("/", async (c) => c.json({ secrets: await listSecrets(c.env.DB, c.get("accountId")) }))
  .delete("/:name", async (c) => {
    const name = parseOrThrow(SecretName, c.req.param("name"), "secret name");
    await deleteSecret(c.env.DB, c.get("accountId"), name);
    return c.body(null, 204);
  });
