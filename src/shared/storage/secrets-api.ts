import { z } from "zod";

/** Largest secret value: an API token, a service-account JSON or a kubeconfig fits. */
export const MAX_SECRET_BYTES = 64 * 1024;
export const MAX_SECRETS_PER_ACCOUNT = 256;

export const SecretName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "1-63 lower-case letters, digits, '_', '.' or '-'");

/** POST /v1/secrets: creates the secret, or replaces the value of the one by that name. */
export const SecretCreate = z
  .object({
    name: SecretName,
    value: z
      .string()
      .min(1, "a secret needs a value")
      .refine(
        (value) => new TextEncoder().encode(value).length <= MAX_SECRET_BYTES,
        `a secret is at most ${MAX_SECRET_BYTES} bytes`,
      ),
  })
  .strict();

/** What the API shows of a secret: never its value. */
export const SecretView = z.object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() });
export type SecretView = z.infer<typeof SecretView>;
export const SecretList = z.object({ secrets: z.array(SecretView) });

/** A value taken from one of the account's secrets, where a spec would otherwise hold it in clear. */
export const SecretRef = z.object({ secret: SecretName }).strict();
export type SecretRef = z.infer<typeof SecretRef>;

/**
 * What an S3-compatible store's credentials secret holds (as JSON), so the spec names the secret
 * and never the keys.
 */
export const S3Credentials = z
  .object({
    accessKeyId: z.string().min(1).max(256),
    secretAccessKey: z.string().min(1).max(256),
    sessionToken: z.string().max(4096).optional(),
  })
  .strict();
export type S3Credentials = z.infer<typeof S3Credentials>;
