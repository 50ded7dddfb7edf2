import type { Db } from './db/index.ts';
import { migrateToLatest } from './db/migrate.ts';
import { seedStreams } from './streams/seed.ts';
import * as users from './users/repository.ts';
import { issueToken } from './users/service.ts';

/** Brings a database to the current schema and seeds the streams; safe to run at every start. */
export async function prepareDatabase(db: Db): Promise<void> {
  await migrateToLatest(db);
  await db.transaction().execute((trx) => seedStreams(trx));
}

/**
 * On a database with no admin yet, creates one and returns a token for them (printed once by the
 * launcher). Returns null when an admin already exists.
 */
export async function ensureFirstAdmin(
  db: Db,
  email: string,
): Promise<{ email: string; token: string } | null> {
  return db.transaction().execute(async (trx) => {
    // Serialise concurrent first starts of several instances.
    await trx.selectFrom('streams').select('id').where('slug', '=', 'schools').forUpdate().execute();
    const admin = await trx.selectFrom('grants').select('id').where('role', '=', 'admin').executeTakeFirst();
    if (admin) return null;
    const userId =
      (await users.findUserIdByEmail(trx, email)) ??
      (await users.insertUser(trx, { email, name: 'Administrator' }));
    await users.insertGrant(trx, { user_id: userId, role: 'admin' });
    const { token } = await issueToken(trx, null, userId);
    return { email, token };
  });
}
