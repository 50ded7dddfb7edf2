import { type Kysely, sql } from 'kysely';

/**
 * The national summary counts open applications by area, status and stream. With `status` in the
 * partial index of open applications that count is an index-only scan (4 ms instead of 23–43 ms at
 * SPEC scale, where open rows are spread over as many heap pages as there are rows).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists applications_open`.execute(db);
  await sql`create index applications_open on applications (organisation_id, state)
    include (stream_id, status, updated_at)
    where status not in ('awarded', 'notAwarded', 'withdrawn', 'lapsed')`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists applications_open`.execute(db);
  await sql`create index applications_open on applications (organisation_id, state) include (stream_id, updated_at)
    where status not in ('awarded', 'notAwarded', 'withdrawn', 'lapsed')`.execute(db);
}
