import { type Kysely, sql } from 'kysely';

/**
 * The notification outbox of workflow events: one row per event that tells someone, written in the
 * event's transaction (beside its history line, in the same statement). The job worker turns each row
 * into one notification per recipient, in the recipient's language, and deletes it, in one transaction;
 * so a transition's cost no longer grows with the number of people it tells. Scope and message are
 * JSON text read only by the fan-out: Postgres need not parse them on the transition's path.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table notification_events (
    id bigint generated always as identity primary key,
    entity text not null check (entity in ('application', 'award')),
    entity_id uuid not null,
    event_type text not null,
    audiences text[] not null,
    scope text not null,
    message text not null,
    actor_id uuid,
    created_at timestamptz not null
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table notification_events`.execute(db);
}
