import { stateString } from '../../workflows/index.ts';
import { loadApplicationAccess } from '../applications/repository.ts';
import type { ApplicationView } from '../applications/schemas.ts';
import { getApplication, listApplications, reviews, sendEvent } from '../applications/service.ts';
import type { Db } from '../db/index.ts';
import type { ReviewDraftBody } from '../db/schema.ts';
import { asPanelMember, assertOnPanel, mayReadEvidence } from '../domain/access.ts';
import { DomainError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { EvidenceDeps } from '../evidence/deps.ts';
import type { EvidenceView } from '../evidence/schemas.ts';
import { downloadEvidence, listEvidence, type RangeDecision } from '../evidence/service.ts';
import * as repo from './repository.ts';

/**
 * An appraiser's reviews (SPEC §4 SUBMIT_REVIEW, DECLARE_CONFLICT; §9 "Appraisers"): what is assigned
 * to them, the review with the evidence beside it, a draft kept as they go, and the review or the
 * conflict sent through the workflow like the API's events. Only the application's panel sees any of
 * it (see assertOnPanel); everything else goes through the applications' and the evidence's services.
 */

/** The states in which a panel member's review of the round is still to come. */
const REVIEW_STATES: readonly string[] = ['appraisal.panelForming', 'appraisal.reviewing'];

/** The applications on whose panel the person sits, with where their review stands and since when. */
export async function assignedReviews(db: Db, p: Principal, page: { limit: number; cursor?: string }) {
  const listed = await listApplications(db, asPanelMember(p), { ...page, sort: '-updatedAt' });
  const due = new Map(
    (
      await repo.reviewsDue(
        db,
        listed.items.map((a) => a.id),
        p.userId,
      )
    ).map((d) => [d.id, d]),
  );
  return {
    items: listed.items.map((a) => {
      const d = due.get(a.id);
      return {
        ...a,
        reviewDue: REVIEW_STATES.includes(a.state) && !d?.reviewed,
        reviewed: d?.reviewed ?? false,
        assignedAt: d?.assignedAt ?? null,
        openedAt: a.state === 'appraisal.reviewing' ? (d?.openedAt ?? null) : null,
      };
    }),
    nextCursor: listed.nextCursor,
  };
}

export type ReviewEvidence = EvidenceView & {
  /** The round whose decision came before this file was added, when it is new since then. */
  newSinceRound: number | null;
};

/** Evidence added after the last decision (a further-evidence request) is new to the panel's next round. */
function markNew(view: ApplicationView, items: EvidenceView[]): ReviewEvidence[] {
  const previous = view.previousRounds.at(-1);
  const decidedAt = (previous?.decision as { decidedAt?: string } | null)?.decidedAt;
  return items.map((item) => ({
    ...item,
    newSinceRound:
      previous && decidedAt && new Date(item.createdAt) > new Date(decidedAt) ? previous.round : null,
  }));
}

/**
 * Everything the review page shows an appraiser on the panel: the application as they may see it, its
 * evidence while they may read it, their draft of this round's review, and what they submitted.
 */
export async function openReview(db: Db, p: Principal, id: string) {
  const access = await loadApplicationAccess(db, p, id);
  assertOnPanel(access.relations);
  const readable = mayReadEvidence(access.relations, access.snapshot);
  const [view, evidence, draft, own] = await Promise.all([
    getApplication(db, p, id),
    readable ? listEvidence(db, p, id) : [],
    repo.findDraft(db, id, p.userId),
    reviews(db, p, id),
  ]);
  return {
    view,
    evidenceReadable: readable,
    evidence: markNew(view, evidence),
    draft:
      draft && draft.round === view.round ? { ...draft.body, savedAt: new Date(draft.updated_at) } : null,
    submitted: own.items.find((r) => r.round === view.round) ?? null,
    canDraft: REVIEW_STATES.includes(view.state) && !own.items.some((r) => r.round === view.round),
  };
}

/**
 * An evidence file for the review page, as the API's content download gives it (scope, ranges, the
 * download in the history), to the application's panel only.
 */
export async function reviewEvidence(
  deps: EvidenceDeps,
  p: Principal,
  id: string,
  evidenceId: string,
  rangeFor: (item: EvidenceView) => RangeDecision,
  withBody: boolean,
) {
  const { relations } = await loadApplicationAccess(deps.db, p, id);
  assertOnPanel(relations);
  return downloadEvidence(deps, p, id, evidenceId, rangeFor, withBody);
}

/** Keeps the appraiser's review in progress; personal, so not a workflow event and not in the history. */
export async function saveReviewDraft(db: Db, p: Principal, id: string, body: ReviewDraftBody) {
  const { snapshot, relations } = await loadApplicationAccess(db, p, id);
  assertOnPanel(relations);
  const state = stateString(snapshot);
  if (!REVIEW_STATES.includes(state) || snapshot.context.reviewedBy.includes(p.userId))
    throw new DomainError(
      'illegal-transition',
      `There is no review of round ${snapshot.context.round} to draft while the application is ${state}`,
      { state },
    );
  await repo.saveDraft(db, {
    applicationId: id,
    appraiserId: p.userId,
    round: snapshot.context.round,
    body,
    at: new Date(),
  });
}

/** Sends the review as POST /applications/{id}/events would (SUBMIT_REVIEW), then drops the draft. */
export async function submitReview(
  db: Db,
  p: Principal,
  id: string,
  review: { criteria: Record<string, { judgement: 'met' | 'not_yet'; comment: string }>; summary: string },
  expectedVersion: number | undefined,
) {
  const sent = await sendEvent(db, p, id, { type: 'SUBMIT_REVIEW', ...review }, expectedVersion);
  await repo.deleteDraft(db, id, p.userId);
  return sent;
}

/** DECLARE_CONFLICT through the workflow: the person leaves the panel, and their draft goes with them. */
export async function declareConflict(
  db: Db,
  p: Principal,
  id: string,
  reason: string,
  expectedVersion: number | undefined,
) {
  const { relations } = await loadApplicationAccess(db, p, id);
  assertOnPanel(relations);
  const sent = await sendEvent(db, p, id, { type: 'DECLARE_CONFLICT', reason }, expectedVersion);
  await repo.deleteDraft(db, id, p.userId);
  return sent;
}
