import { type Kysely, sql } from 'kysely';

/**
 * What the safeguarding step removed from an evidence file as it was stored (SPEC §6), and whether a
 * preview for the panel was made beside it:
 * - `metadata_removed`: e.g. `{gps,makernotes,xmp-location}`; empty when there was nothing to remove,
 *   null when the file was stored without the step (before it existed, or with it turned off);
 * - `location_not_removed`: location data seen but left, with why (e.g. `movie-header-too-large`);
 * - `has_preview`: a small WebP of the image is stored under `<storage_key>-preview`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('evidence')
    .addColumn('metadata_removed', sql`text[]`)
    .addColumn('location_not_removed', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('has_preview', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('evidence')
    .dropColumn('metadata_removed')
    .dropColumn('location_not_removed')
    .dropColumn('has_preview')
    .execute();
}
