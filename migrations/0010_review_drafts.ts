import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/**
 * An appraiser's review in progress (SPEC §9: "a saved draft"): their judgements, comments and summary
 * for the application's current round, kept until they submit or leave the panel. Personal working
 * notes, not a workflow change: no history line, no version.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('review_drafts')
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('appraiser_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('review_drafts_pkey', ['application_id', 'appraiser_id'])
    .execute();
  // Removing a person removes their drafts: the foreign key needs this index to find them.
  await db.schema
    .createIndex('review_drafts_appraiser')
    .on('review_drafts')
    .columns(['appraiser_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('review_drafts').execute();
}
