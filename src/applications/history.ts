import type { DbOrTrx } from '../db/index.ts';

export type HistoryEntry = {
  applicationId: string;
  /** A workflow event type (SUBMIT …) or an audit line (CREATED, ANSWER_SAVED, EVIDENCE_UPLOADED, EVIDENCE_DOWNLOADED …). */
  type: string;
  actorId: string | null;
  from: string | null;
  to: string | null;
  payload?: Record<string, unknown>;
  /** The persisted snapshot after a transition, for `?asOf=`. */
  snapshot?: Record<string, unknown> | null;
  version?: number | null;
  at?: Date;
};

/** Appends one line to an application's history (inside the caller's transaction when there is one). */
export async function appendApplicationHistory(db: DbOrTrx, e: HistoryEntry): Promise<void> {
  await db
    .insertInto('application_events')
    .values({
      application_id: e.applicationId,
      type: e.type,
      actor_id: e.actorId,
      from_state: e.from,
      to_state: e.to,
      payload: JSON.stringify(e.payload ?? {}),
      snapshot: e.snapshot ? JSON.stringify(e.snapshot) : null,
      version: e.version ?? null,
      ...(e.at ? { at: e.at } : {}),
    })
    .execute();
}
