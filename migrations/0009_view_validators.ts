import { type Kysely, sql } from 'kysely';

/**
 * What a validator (ETag) of an application's or an award's view is made of, so that a revalidation
 * (`If-None-Match`) costs one primary-key lookup instead of the whole view (SPEC §8):
 * - `applications.revision`: counts the changes to an application's own data that do not change its
 *   `version` (answers, evidence), bumped with the history line each of them writes;
 * - `directory_changes.generation`: counts the committed transactions that changed what views show of
 *   other records: organisations' names and areas, people's names, appraisers' profiles, pledges, areas
 *   and grants (which decide, e.g., whether an area has a lead, a fact of SUBMIT's guard). Such changes
 *   are rare beside reads, so one counter for all of them is enough. The triggers are deferred to the
 *   commit, so a transaction takes the counter's row lock last (no lock-order deadlock), and count once
 *   per transaction.
 */
const DIRECTORY_TRIGGERS: [table: string, events: string][] = [
  ['organisations', 'update of name, area_id or delete'],
  ['users', 'update of name or delete'],
  ['appraiser_profiles', 'insert or update or delete'],
  ['pledges', 'insert or update or delete'],
  ['areas', 'update or delete'],
  ['grants', 'insert or update or delete'],
];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table applications add column revision integer not null default 0`.execute(db);

  await sql`create table directory_changes (
    single boolean primary key default true check (single),
    generation bigint not null default 0
  )`.execute(db);
  await sql`insert into directory_changes default values`.execute(db);
  await sql`create function note_directory_change() returns trigger language plpgsql as $$
    begin
      if current_setting('sanctuary.directory_changed', true) is distinct from 'yes' then
        perform set_config('sanctuary.directory_changed', 'yes', true);
        update directory_changes set generation = generation + 1;
      end if;
      return null;
    end $$`.execute(db);
  for (const [table, events] of DIRECTORY_TRIGGERS) {
    await sql`create constraint trigger ${sql.raw(`${table}_directory_change`)}
      after ${sql.raw(events)} on ${sql.table(table)}
      deferrable initially deferred for each row execute function note_directory_change()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table] of DIRECTORY_TRIGGERS) {
    await sql`drop trigger if exists ${sql.raw(`${table}_directory_change`)} on ${sql.table(table)}`.execute(
      db,
    );
  }
  await sql`drop function if exists note_directory_change()`.execute(db);
  await sql`drop table if exists directory_changes`.execute(db);
  await sql`alter table applications drop column if exists revision`.execute(db);
}
