import type { Kysely } from 'kysely';

/**
 * Evidence whose file was removed while its metadata stays (SPEC §3: retention after the decision).
 * `file_removed_reason` says why, e.g. `retention`; the row keeps name, size, hash and criteria.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('evidence')
    .addColumn('file_removed_at', 'timestamptz')
    .addColumn('file_removed_reason', 'text')
    .execute();
  // The orphan sweep asks "which of these keys does a row still hold?" in batches.
  await db.schema.createIndex('evidence_storage_key').on('evidence').column('storage_key').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('evidence_storage_key').execute();
  await db.schema
    .alterTable('evidence')
    .dropColumn('file_removed_at')
    .dropColumn('file_removed_reason')
    .execute();
}
