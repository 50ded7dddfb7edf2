import { type Kysely, sql } from 'kysely';
import { SCHOOL_CRITERIA, STARTER_CRITERIA, STREAMS } from '../src/streams/seed.ts';

/**
 * Welsh names of streams and Welsh titles of criteria (SPEC §9: every page in English and Welsh). Both
 * are optional: a criteria set an admin publishes without Welsh shows its English titles on Welsh
 * pages. The streams and criteria the service seeded get the seed's Welsh; sets an admin wrote keep
 * none (their English may differ from the seed's, so a seeded translation would not fit them).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table streams add column name_cy text`.execute(db);
  await sql`alter table criteria add column title_cy text`.execute(db);
  for (const stream of STREAMS)
    await sql`update streams set name_cy = ${stream.nameCy} where slug = ${stream.slug} and name = ${stream.name}`.execute(
      db,
    );
  for (const criterion of [...SCHOOL_CRITERIA, ...STARTER_CRITERIA])
    await sql`update criteria set title_cy = ${criterion.titleCy}
      where code = ${criterion.code} and title = ${criterion.title}`.execute(db);
  // Views now show the Welsh: validators (ETags) given out before must not answer 304.
  await sql`update directory_changes set generation = generation + 1`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table criteria drop column if exists title_cy`.execute(db);
  await sql`alter table streams drop column if exists name_cy`.execute(db);
}
