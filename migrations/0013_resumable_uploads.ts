import { type Kysely, sql } from 'kysely';

/**
 * Resumable (tus) evidence uploads still under way. A row reserves its declared length against the
 * application's byte limit from creation, so uploads running side by side cannot together pass it;
 * it goes when the upload finishes, is terminated or expires (its partial bytes removed with it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table evidence_uploads (
    id text primary key,
    application_id uuid not null references applications(id) on delete cascade,
    created_by uuid not null references users(id),
    length bigint not null check (length > 0),
    filename text not null,
    criteria text,
    relative_path text,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`.execute(db);
  await sql`create index evidence_uploads_application on evidence_uploads (application_id)`.execute(db);
  await sql`create index evidence_uploads_expires on evidence_uploads (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table evidence_uploads`.execute(db);
}
