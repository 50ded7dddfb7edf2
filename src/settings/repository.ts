import { sql } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';

/** All SQL about the settings an admin changes while the service runs. */

export async function readSetting(db: DbOrTrx, key: string): Promise<unknown> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function writeSetting(db: DbOrTrx, key: string, value: unknown, userId: string) {
  const json = JSON.stringify(value);
  await db
    .insertInto('settings')
    .values({ key, value: json, updated_by: userId })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value: json, updated_by: userId, updated_at: sql`now()` }),
    )
    .execute();
}
