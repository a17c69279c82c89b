import { and, count, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { secrets } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import { MAX_SECRETS_PER_ACCOUNT, type SecretView } from "../../shared/storage/secrets-api.js";
import { openSecret, sealSecret } from "./secret-box.js";

function view(row: { name: string; createdAt: number; updatedAt: number }): SecretView {
  return {
    name: row.name,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** Creates the secret, or replaces its value (keeping its creation time). */
export async function putSecret(
  env: Env,
  accountId: string,
  name: string,
  value: string,
): Promise<SecretView> {
  const db = drizzle(env.DB);
  const now = Date.now();
  const existing = await db
    .select({ createdAt: secrets.createdAt })
    .from(secrets)
    .where(and(eq(secrets.accountId, accountId), eq(secrets.name, name)))
    .get();
  if (!existing) {
    const held = await db.select({ n: count() }).from(secrets).where(eq(secrets.accountId, accountId)).get();
    if ((held?.n ?? 0) >= MAX_SECRETS_PER_ACCOUNT) {
      throw new MeridianError(
        409,
        "too_many_secrets",
        `an account holds at most ${MAX_SECRETS_PER_ACCOUNT} secrets`,
      );
    }
  }
  const sealed = await sealSecret(env, accountId, name, value);
  const createdAt = existing?.createdAt ?? now;
  await db
    .insert(secrets)
    .values({ accountId, name, ...sealed, createdAt, updatedAt: now })
    .onConflictDoUpdate({ target: [secrets.accountId, secrets.name], set: { ...sealed, updatedAt: now } });
  return view({ name, createdAt, updatedAt: now });
}

export async function listSecrets(database: D1Database, accountId: string): Promise<SecretView[]> {
  const rows = await drizzle(database)
    .select({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
    .from(secrets)
    .where(eq(secrets.accountId, accountId))
    .orderBy(secrets.name)
    .all();
  return rows.map(view);
}

export async function deleteSecret(database: D1Database, accountId: string, name: string): Promise<void> {
  const gone = await drizzle(database)
    .delete(secrets)
    .where(and(eq(secrets.accountId, accountId), eq(secrets.name, name)))
    .returning({ name: secrets.name })
    .all();
  if (gone.length === 0) throw new MeridianError(404, "secret_not_found", `no secret named ${name}`);
}

/** 422 naming the first secret the account does not have; another account's count as missing. */
export async function requireSecrets(
  database: D1Database,
  accountId: string,
  names: string[],
): Promise<void> {
  if (names.length === 0) return;
  const rows = await drizzle(database)
    .select({ name: secrets.name })
    .from(secrets)
    .where(and(eq(secrets.accountId, accountId), inArray(secrets.name, names)))
    .all();
  const held = new Set(rows.map((row) => row.name));
  const missing = names.filter((name) => !held.has(name));
  if (missing.length > 0) {
    throw new MeridianError(
      422,
      "secret_not_found",
      `the spec names secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")} that this account does not have; create with POST /v1/secrets`,
      { missing },
    );
  }
}

/** The values of the named secrets, opened; a missing one is a 422 (it was deleted since submit). */
export async function openSecrets(
  env: Env,
  accountId: string,
  names: string[],
): Promise<Map<string, string>> {
  await requireSecrets(env.DB, accountId, names);
  if (names.length === 0) return new Map();
  const rows = await drizzle(env.DB)
    .select()
    .from(secrets)
    .where(and(eq(secrets.accountId, accountId), inArray(secrets.name, names)))
    .all();
  const values = new Map<string, string>();
  for (const row of rows) values.set(row.name, await openSecret(env, accountId, row.name, row));
  return values;
}
