import { type Kysely, sql } from 'kysely';

/** Applications with their workflow snapshot, answers, history, evidence, awards, idempotency keys. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('applications')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organisation_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('streams.id'))
    .addColumn('criteria_set_id', 'uuid', (c) => c.notNull().references('criteria_sets.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('initial', 'renewal')`))
    .addColumn('previous_award_id', 'uuid')
    // Workflow columns: written only by the workflow runner.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('snapshot', 'jsonb', (c) => c.notNull())
    .addColumn('machine_version', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // At most one open application per organisation and stream (SPEC §5).
  await db.schema
    .createIndex('applications_one_open')
    .on('applications')
    .columns(['organisation_id', 'stream_id'])
    .unique()
    .where(sql.ref('status'), 'not in', sql`('awarded', 'notAwarded', 'withdrawn', 'lapsed')`)
    .execute();
  await db.schema
    .createIndex('applications_organisation')
    .on('applications')
    .columns(['organisation_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('applications_created')
    .on('applications')
    .columns(['created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('applications_status')
    .on('applications')
    .columns(['status', 'created_at', 'id'])
    .execute();
  // Appraisers see the applications whose panel they are on.
  await db.schema
    .createIndex('applications_panel')
    .on('applications')
    .using('gin')
    .expression(sql`(snapshot -> 'context' -> 'panel')`)
    .execute();

  await db.schema
    .createTable('application_answers')
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'uuid', (c) => c.references('users.id'))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('application_answers_pk', ['application_id', 'code'])
    .execute();

  // The history: every workflow event, and the other things worth an audit line (answers, evidence, downloads).
  await db.schema
    .createTable('application_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'uuid')
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    // The snapshot after a transition, so `?asOf=` can show the application as it stood.
    .addColumn('snapshot', 'jsonb')
    .addColumn('version', 'integer')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('application_events_app')
    .on('application_events')
    .columns(['application_id', 'id'])
    .execute();

  await db.schema
    .createTable('evidence')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('criteria', sql`text[]`, (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('uploaded_by', 'uuid', (c) => c.references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  // The same bytes are stored once per application.
  await db.schema
    .createIndex('evidence_unique_bytes')
    .on('evidence')
    .columns(['application_id', 'sha256'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('evidence_application')
    .on('evidence')
    .columns(['application_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('awards')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organisation_id', 'uuid', (c) => c.notNull().references('organisations.id'))
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('streams.id'))
    .addColumn('application_id', 'uuid', (c) => c.notNull().unique().references('applications.id'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('snapshot', 'jsonb', (c) => c.notNull())
    .addColumn('machine_version', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('awarded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('awards_organisation')
    .on('awards')
    .columns(['organisation_id', 'awarded_at'])
    .execute();
  await db.schema.createIndex('awards_state').on('awards').columns(['state', 'awarded_at', 'id']).execute();

  await db.schema
    .createTable('award_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('award_id', 'uuid', (c) => c.notNull().references('awards.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'uuid')
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('version', 'integer')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('award_events_award').on('award_events').columns(['award_id', 'id']).execute();

  // Idempotency-Key records: the first response to a key is replayed for the same request.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('response_headers', 'jsonb')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'award_events',
    'awards',
    'evidence',
    'application_events',
    'application_answers',
    'applications',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
