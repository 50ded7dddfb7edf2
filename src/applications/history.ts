import { sql } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';

export type HistoryEntry = {
  applicationId: string;
  /** A workflow event type (SUBMIT …) or an audit line (CREATED, ANSWER_SAVED, EVIDENCE_UPLOADED, EVIDENCE_DOWNLOADED …). */
  type: string;
  actorId: string | null;
  from: string | null;
  to: string | null;
  payload?: Record<string, unknown>;
  /** The persisted snapshot after a transition, for `?asOf=` (or its JSON text, as the runner has it). */
  snapshot?: Record<string, unknown> | string | null;
  version?: number | null;
  at?: Date;
};

/** Lines that record a reading, not a change: the application's views stay as they were. */
const READ_ONLY_LINES: readonly string[] = ['EVIDENCE_DOWNLOADED', 'EVIDENCE_ARCHIVE_DOWNLOADED'];

/** The values of a history line, for an insert. */
export function historyValues(e: HistoryEntry) {
  return {
    application_id: e.applicationId,
    type: e.type,
    actor_id: e.actorId,
    from_state: e.from,
    to_state: e.to,
    payload: JSON.stringify(e.payload ?? {}),
    snapshot: typeof e.snapshot === 'string' ? e.snapshot : e.snapshot ? JSON.stringify(e.snapshot) : null,
    version: e.version ?? null,
    ...(e.at ? { at: e.at } : {}),
  };
}

/**
 * Appends one line to an application's history (inside the caller's transaction when there is one).
 * Every change to an application's data writes such a line, so a line without a version (answers,
 * evidence: the changes a transition's version does not count) also bumps the application's
 * `revision`, in the same statement: the validators of its views (ETags) change with it. A transition
 * counts in `version` instead; a line that records a reading changes nothing.
 */
export async function appendApplicationHistory(db: DbOrTrx, e: HistoryEntry): Promise<void> {
  const insert = db.insertInto('application_events').values(historyValues(e));
  if (e.version != null || READ_ONLY_LINES.includes(e.type)) {
    await insert.execute();
    return;
  }
  await db
    .with('line', () => insert)
    .updateTable('applications')
    .set({ revision: sql`revision + 1` })
    .where('id', '=', e.applicationId)
    .execute();
}
