import { Hono } from "hono";
import { SecretCreate, SecretList, SecretName, SecretView } from "../../shared/storage/secrets-api.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody, parseOrThrow } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_SECRET } from "../openapi/sample-account.js";
import { deleteSecret, listSecrets, putSecret } from "../storage/secret-store.js";

/** /v1/secrets: values go in and never come out; only the agent of an attempt that needs one gets it. */
export const secretRoutes = new Hono<AppEnv>()
  .post(
    "/",
    doc({
      id: "putSecret",
      tag: "Secrets",
      summary: "Create a secret, or replace its value",
      description:
        "The value is sealed at rest and never shown again; a job names it as `env: { X: { secret: name } }` and only the agent of its current attempt receives it.",
      body: SecretCreate,
      bodyExample: { name: "hf", value: "hf_example_token" },
      response: { status: 201, schema: SecretView, example: SAMPLE_SECRET },
      errors: [409],
    }),
    async (c) => {
      const body = await jsonBody(c, SecretCreate);
      return c.json(await putSecret(c.env, c.get("accountId"), body.name, body.value), 201);
    },
  )
  .get(
    "/",
    doc({
      id: "listSecrets",
      tag: "Secrets",
      summary: "List secrets (names only)",
      response: { schema: SecretList, example: { secrets: [SAMPLE_SECRET] } },
    }),
    async (c) => c.json({ secrets: await listSecrets(c.env.DB, c.get("accountId")) }),
  )
  .delete(
    "/:name",
    doc({
      id: "deleteSecret",
      tag: "Secrets",
      summary: "Delete a secret",
      description: "Jobs already placed keep what they were given; later submissions naming it are refused.",
      response: { status: 204, description: "Deleted" },
    }),
    async (c) => {
      const name = parseOrThrow(SecretName, c.req.param("name"), "secret name");
      await deleteSecret(c.env.DB, c.get("accountId"), name);
      return c.body(null, 204);
    },
  );
