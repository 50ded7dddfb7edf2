import { type Kysely, sql } from 'kysely';

/**
 * Indexes for the lists, dashboards, CSV exports and the public register at national scale (SPEC §1,
 * §8: 10,000 organisations, 100,000 applications, 1,000,000 history events). Every list is keyset
 * paginated on (sort column, id), so each sort has an index ending in id.
 */
const CURRENT_AWARD = sql`state in ('active', 'renewalDue', 'renewing')`;
const OPEN_APPLICATION = sql`status not in ('awarded', 'notAwarded', 'withdrawn', 'lapsed')`;

export async function up(db: Kysely<any>): Promise<void> {
  // Name search (`q`, `name`): ILIKE '%text%' through a trigram index, on Postgres and on PGlite
  // (which loads the extension in src/db/index.ts). pg_trgm is a trusted extension: the database
  // owner may create it.
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index organisations_name_trgm on organisations using gin (name gin_trgm_ops)`.execute(db);
  await db.schema.createIndex('organisations_name').on('organisations').columns(['name', 'id']).execute();
  await db.schema
    .createIndex('organisations_updated')
    .on('organisations')
    .columns(['updated_at', 'id'])
    .execute();
  await db.schema
    .createIndex('organisations_stream')
    .on('organisations')
    .columns(['stream_id', 'name', 'id'])
    .execute();

  await db.schema
    .createIndex('applications_state')
    .on('applications')
    .columns(['state', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('applications_updated')
    .on('applications')
    .columns(['updated_at', 'id'])
    .execute();
  await db.schema
    .createIndex('applications_stream')
    .on('applications')
    .columns(['stream_id', 'created_at', 'id'])
    .execute();
  // Dashboards look at open work only: a small partial index however long the history grows.
  await sql`create index applications_open on applications (organisation_id, state) include (stream_id, updated_at) where ${OPEN_APPLICATION}`.execute(
    db,
  );

  await db.schema.createIndex('awards_awarded').on('awards').columns(['awarded_at', 'id']).execute();
  await db.schema.createIndex('awards_expires').on('awards').columns(['expires_at', 'id']).execute();
  await db.schema.createIndex('awards_updated').on('awards').columns(['updated_at', 'id']).execute();
  // The register and "expiring in 90 days" read current awards only.
  await sql`create index awards_current_organisation on awards (organisation_id) include (stream_id, awarded_at, expires_at) where ${CURRENT_AWARD}`.execute(
    db,
  );
  await sql`create index awards_current_expiry on awards (expires_at, id) where ${CURRENT_AWARD}`.execute(db);

  // Recent decisions, newest first.
  await sql`create index application_events_decisions on application_events (at desc, id desc) where type = 'DECIDE'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [
    'application_events_decisions',
    'awards_current_expiry',
    'awards_current_organisation',
    'awards_updated',
    'awards_expires',
    'awards_awarded',
    'applications_open',
    'applications_stream',
    'applications_updated',
    'applications_state',
    'organisations_stream',
    'organisations_updated',
    'organisations_name',
    'organisations_name_trgm',
  ]) {
    await db.schema.dropIndex(index).ifExists().execute();
  }
}
