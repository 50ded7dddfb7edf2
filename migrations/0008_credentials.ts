import { type Kysely, sql } from 'kysely';

/**
 * Credentials are personal and reach never grows behind someone's back (SPEC §3, §5).
 * - Tokens issued to someone by a person who was neither that person nor an admin (a lead, under the
 *   earlier rules) are revoked: their issuer may still hold them, and they would reach wherever the
 *   holder's grants grow. The rows stay, for the record; `created_by` null is the CLI or the first start.
 * - Invitations: what a lead offers someone outside their scope, applied only when the person accepts.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`update api_tokens t set revoked_at = now()
    where t.revoked_at is null
      and t.created_by is not null
      and t.created_by <> t.user_id
      and not exists (select 1 from grants g where g.user_id = t.created_by and g.role = 'admin')`.execute(
    db,
  );

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull().check(sql`email = lower(email)`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('grants', 'jsonb', (c) => c.notNull())
    .addColumn('invited_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('declined_at', 'timestamptz')
    .addCheckConstraint('invitations_answered_once', sql`accepted_at is null or declined_at is null`)
    .execute();
  await db.schema
    .createIndex('invitations_user')
    .on('invitations')
    .columns(['user_id', 'created_at'])
    .execute();
}

/** Drops the invitations. Revoked tokens stay revoked: their issuers may still hold them. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invitations').ifExists().execute();
}
