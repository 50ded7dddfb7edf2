import { sql } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { ReviewDraftBody } from '../db/schema.ts';

/** The appraiser's draft of their review of the application, whatever round it was written in. */
export function findDraft(db: DbOrTrx, applicationId: string, appraiserId: string) {
  return db
    .selectFrom('review_drafts')
    .select(['round', 'body', 'updated_at'])
    .where('application_id', '=', applicationId)
    .where('appraiser_id', '=', appraiserId)
    .executeTakeFirst();
}

/** Keeps the draft: one per appraiser and application, a later round's replacing an earlier one's. */
export async function saveDraft(
  db: DbOrTrx,
  draft: { applicationId: string; appraiserId: string; round: number; body: ReviewDraftBody; at: Date },
) {
  const body = JSON.stringify(draft.body);
  await db
    .insertInto('review_drafts')
    .values({
      application_id: draft.applicationId,
      appraiser_id: draft.appraiserId,
      round: draft.round,
      body,
      updated_at: draft.at,
    })
    .onConflict((oc) =>
      oc
        .columns(['application_id', 'appraiser_id'])
        .doUpdateSet({ round: draft.round, body, updated_at: draft.at }),
    )
    .execute();
}

export async function deleteDraft(db: DbOrTrx, applicationId: string, appraiserId: string) {
  await db
    .deleteFrom('review_drafts')
    .where('application_id', '=', applicationId)
    .where('appraiser_id', '=', appraiserId)
    .execute();
}

export type ReviewDue = {
  id: string;
  /** Whether the appraiser has submitted their review of the current round. */
  reviewed: boolean;
  /** When they were (last) put on the panel. */
  assignedAt: Date | null;
  /** When the current round's reviews opened (START_REVIEW, or RESUBMIT for a later round). */
  openedAt: Date | null;
};

/** For each of these applications, where the appraiser's review stands and since when. */
export async function reviewsDue(db: DbOrTrx, ids: string[], appraiserId: string): Promise<ReviewDue[]> {
  if (ids.length === 0) return [];
  const latest = (types: string[], ofAppraiser: boolean) =>
    sql<Date | null>`(select max(e.at) from application_events e
      where e.application_id = applications.id and e.type in (${sql.join(types)})
      ${ofAppraiser ? sql`and e.payload ->> 'userId' = ${appraiserId}` : sql``})`;
  const rows = await db
    .selectFrom('applications')
    .select([
      'id',
      sql<boolean>`coalesce(snapshot -> 'context' -> 'reviewedBy' ? ${appraiserId}, false)`.as('reviewed'),
      latest(['ASSIGN_APPRAISER'], true).as('assigned_at'),
      latest(['START_REVIEW', 'RESUBMIT'], false).as('opened_at'),
    ])
    .where('id', 'in', ids)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    reviewed: r.reviewed,
    assignedAt: r.assigned_at ? new Date(r.assigned_at) : null,
    openedAt: r.opened_at ? new Date(r.opened_at) : null,
  }));
}
