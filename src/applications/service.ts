import {
  type ApplicationSnapshot,
  applicationStatusOf,
  canEditAnswers,
  reviveApplicationSnapshot,
  stateString,
} from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import {
  applicationsInScope,
  assertOrganisationVisible,
  eventsForCaller,
  isManager,
  mayReadEvidence,
  panelPeopleHiddenFrom,
  relationsTo,
} from '../domain/access.ts';
import {
  conflict,
  DomainError,
  forbidden,
  guardFailed,
  notFound,
  validationFailed,
} from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import * as users from '../users/repository.ts';
import {
  applicationWorkflow,
  GUARD_FACT_STATES,
  type LoadedApplication,
  readsGuardFacts,
  startApplication,
  type WorkflowApplicationRow,
} from '../workflow/applications.ts';
import { beginRenewal } from '../workflow/awards.ts';
import { sendTransition } from '../workflow/runner.ts';
import type { TransitionResult, ViewValidator } from '../workflow/types.ts';
import { appendApplicationHistory } from './history.ts';
import * as repo from './repository.ts';
import type { ApplicationEventBody, ApplicationView } from './schemas.ts';
import { historyLineFor, renderApplication } from './views.ts';

export function loadApplication(db: Db, p: Principal, id: string): Promise<LoadedApplication> {
  return applicationWorkflow.load(db, id, p);
}

/** Loads an application for a view, with its details, in one query (404 out of scope). */
async function loadForView(db: Db, p: Principal | 'system', id: string) {
  const { application, snapshot, relations, details } = await repo.loadApplicationForView(
    db,
    p,
    id,
    GUARD_FACT_STATES,
  );
  return {
    loaded: { id: application.id, row: application, snapshot, version: application.version, relations },
    details,
  };
}

/** The application as the caller sees it now, with its view's validator (for the ETag). */
export async function readApplication(
  db: Db,
  p: Principal,
  id: string,
): Promise<{ view: ApplicationView; validator: ViewValidator }> {
  const { loaded, details } = await loadForView(db, p, id);
  return { view: await renderApplication(db, loaded, p, { details }), validator: details.validator };
}

/** The validator of the caller's view of the application, without the view (a revalidation). */
export function applicationValidator(db: Db, p: Principal, id: string): Promise<ViewValidator> {
  return repo.loadApplicationValidator(db, p, id);
}

export async function getApplication(db: Db, p: Principal, id: string, asOf?: string) {
  if (!asOf) return (await readApplication(db, p, id)).view;
  const loaded = await loadApplication(db, p, id);
  const at = new Date(asOf);
  const past = await repo.snapshotAsOf(db, id, at);
  if (!past?.snapshot) throw notFound(`application as of ${asOf} (it did not exist yet)`);
  return renderApplication(db, loaded, p, {
    asOf: { at, snapshot: reviveApplicationSnapshot(past.snapshot), version: past.version ?? 1 },
  });
}

/** Opens an application: at most one open per organisation and stream; a renewal is pre-filled. */
export async function createApplication(
  db: Db,
  p: Principal,
  input: { organisationId: string; kind: 'initial' | 'renewal' },
) {
  const org = await repo.findOrganisationRef(db, input.organisationId);
  assertOrganisationVisible(p, org);
  const id = await db.transaction().execute(async (trx) => {
    // Serialise openings for one organisation so the one-open rule and the award checks see each other.
    await repo.lockOrganisation(trx, org.id);
    const open = await repo.findOpenApplication(trx, org.id, org.streamId);
    if (open)
      throw conflict(`The organisation already has an open application (${open.id})`, {
        applicationId: open.id,
      });
    const award = await repo.findCurrentAward(trx, org.id, org.streamId);
    const blocker =
      input.kind === 'initial' && award
        ? 'The organisation holds a current award: open a renewal instead'
        : input.kind === 'renewal' && !award
          ? 'There is no current award to renew: open an initial application'
          : null;
    if (blocker) throw guardFailed(blocker, [blocker]);
    const now = new Date();
    const created = await startApplication(trx, {
      organisationId: org.id,
      streamId: org.streamId,
      kind: input.kind,
      createdBy: p.userId,
      previousAwardId: award?.id ?? null,
      now,
    });
    if (award) {
      // Pre-fill from the last awarded application, for the criteria that still exist.
      await repo.copyAnswers(
        trx,
        { applicationId: award.application_id, codes: created.criteriaCodes },
        { applicationId: created.id, userId: p.userId },
      );
      await beginRenewal(trx, award.id, created.id, now);
    }
    return created.id;
  });
  return readApplication(db, p, id);
}

export async function listApplications(
  db: Db,
  p: Principal,
  q: repo.ApplicationFilters & { sort?: string; limit: number; cursor?: string },
) {
  const sort = parseSort(q.sort, repo.APPLICATION_SORT_COLUMNS, '-createdAt');
  const page = await keysetPage(repo.applicationsMatching(db, applicationsInScope(p), q), {
    idColumn: 'applications.id',
    limit: q.limit,
    cursor: q.cursor,
    sort: { column: sort.column, direction: sort.direction },
  });
  return {
    items: (page.items as repo.ApplicationRow[]).map((a) => ({
      id: a.id,
      organisationId: a.organisation_id,
      organisationName: a.organisation_name,
      streamId: a.stream_id,
      areaId: a.area_id,
      kind: a.kind,
      round: a.round,
      state: a.state,
      status: a.status,
      version: a.version,
      createdAt: iso(a.created_at),
      updatedAt: iso(a.updated_at),
    })),
    nextCursor: page.nextCursor,
  };
}

/** Saves one answer; only an applicant member, and only while the organisation holds the application. */
/**
 * Saves one criterion's answer. With `previous` (the answer the person's page showed), an answer changed
 * meanwhile by someone else is not overwritten: `version-mismatch` with the current text, so the page
 * can show both.
 */
export async function saveAnswer(
  db: Db,
  p: Principal,
  id: string,
  code: string,
  text: string,
  previous?: string,
) {
  return db.transaction().execute(async (trx) => {
    // The row lock serialises answers with transitions and uploads (no view needed: not the workflow's lock).
    const { application, snapshot, relations } = await repo.lockApplicationAccess(trx, p, id);
    if (!relations.has('applicant')) throw forbidden("Only the organisation's members write its answers");
    if (!snapshot.context.criteriaCodes.includes(code))
      throw notFound(`criterion ${code} in this application`);
    if (!canEditAnswers(snapshot)) {
      throw new DomainError(
        'illegal-transition',
        `Answers cannot be changed while the application is ${application.state}`,
        {
          state: application.state,
        },
      );
    }
    if (previous !== undefined) {
      const current = (await repo.answerOf(trx, id, code)) ?? '';
      if (current !== previous && current !== text)
        throw new DomainError('version-mismatch', `The answer to ${code} was changed meanwhile`, {
          currentText: current,
        });
    }
    const now = new Date();
    await repo.upsertAnswer(trx, { applicationId: id, code, text, userId: p.userId, at: now });
    await appendApplicationHistory(trx, {
      applicationId: id,
      type: 'ANSWER_SAVED',
      actorId: p.userId,
      from: application.state,
      to: application.state,
      payload: { code, text },
      at: now,
    });
    return { code, text, updatedAt: now.toISOString() };
  });
}

export async function sendEvent(
  db: Db,
  p: Principal,
  id: string,
  event: ApplicationEventBody,
  expectedVersion?: number,
): Promise<{ view: ApplicationView; validator: ViewValidator }> {
  const now = new Date();
  const result = await sendTransition(applicationWorkflow, db, {
    id,
    event: event as { type: string } & Record<string, unknown>,
    actor: p,
    expectedVersion,
    now,
  });
  const answered = await viewAfterTransition(db, p, result, now);
  if (answered) return answered;
  const { loaded, details } = await loadForView(db, 'system', id);
  // An appraiser who just declared a conflict is off the panel: they still get the answer to their own event.
  const relations = relationsTo(p, loaded.row, loaded.snapshot.context.panel);
  loaded.relations = relations.size ? relations : result.before.relations;
  return { view: await renderApplication(db, loaded, p, { details }), validator: details.validator };
}

/**
 * The caller's view after a transition, from the transition's own result: the row as it was locked,
 * with the view's details read in the same statement (answers and evidence, which no transition
 * changes, panel people, the validator's stamp), and the new snapshot and version. Null where that is
 * not enough and the view is read again: a new award (its id), someone new on the panel (their name),
 * or a preview of events whose guards read the database (SUBMIT, START_REVIEW, RESUBMIT).
 */
async function viewAfterTransition(
  db: Db,
  p: Principal,
  { before, after, version }: TransitionResult<ApplicationSnapshot, WorkflowApplicationRow>,
  now: Date,
): Promise<{ view: ApplicationView; validator: ViewValidator } | null> {
  const { details, ...locked } = before.row;
  if (!details) return null;
  const status = applicationStatusOf(after);
  if (status === 'awarded' && locked.status !== 'awarded') return null;
  const known = new Set(details.panelPeople.map((person) => person.id));
  if (!after.context.panel.every((userId) => known.has(userId))) return null;
  const row: repo.ApplicationRow = {
    ...locked,
    state: stateString(after),
    status,
    round: after.context.round,
    version,
    updated_at: now,
  };
  // An appraiser who just declared a conflict is off the panel: they still get the answer to their own event.
  const relationsNow = relationsTo(p, row, after.context.panel);
  const loaded = {
    id: before.id,
    row,
    snapshot: after,
    version,
    relations: relationsNow.size ? relationsNow : before.relations,
  };
  if (eventsForCaller(applicationWorkflow, loaded).some(readsGuardFacts)) return null;
  return {
    view: await renderApplication(db, loaded, p, { details: { ...details, guardFacts: {} } }),
    validator: { version, stamp: details.validator.stamp },
  };
}

export async function history(db: Db, p: Principal, id: string, limit: number, cursor?: string) {
  const loaded = await loadApplication(db, p, id);
  if (cursor !== undefined && !/^\d{1,12}$/.test(cursor)) {
    throw validationFailed('cursor is not a cursor this API issued', [
      { path: 'query.cursor', message: 'invalid cursor' },
    ]);
  }
  const after = cursor ? Number(cursor) : 0;
  // One line more than asked tells whether there is a next page.
  const manager = isManager(loaded.relations);
  const [rows, everAssigned] = await Promise.all([
    repo.historyLines(db, id, after, limit + 1),
    manager ? [] : repo.panelMembersEver(db, id),
  ]);
  const audience = {
    hiddenPeople: panelPeopleHiddenFrom(loaded.relations, p.userId, loaded.snapshot, everAssigned),
    evidenceReadable: mayReadEvidence(loaded.relations, loaded.snapshot),
  };
  const items = rows.slice(0, limit).map((r) => {
    const line = { type: r.type, actorId: r.actor_id, payload: r.payload as Record<string, unknown> };
    const { type, payload, hideActor } = historyLineFor(line, loaded.relations, p.userId, audience);
    return {
      seq: Number(r.seq),
      type,
      actorId: hideActor ? null : r.actor_id,
      actorName: hideActor ? 'A panel member' : r.actor_name,
      from: r.from_state,
      to: r.to_state,
      payload,
      at: iso(r.at),
    };
  });
  return { items, nextCursor: rows.length > limit ? String(items.at(-1)?.seq) : null };
}

/** Individual reviews: leads and admins see all rounds, an appraiser their own, applicants none. */
export async function reviews(db: Db, p: Principal, id: string) {
  const loaded = await loadApplication(db, p, id);
  const manager = isManager(loaded.relations);
  if (!manager && !loaded.relations.has('appraiser'))
    throw forbidden('Individual reviews are for the panel, the lead and admins');
  const context = loaded.snapshot.context;
  const all = [
    ...context.rounds.flatMap((r) =>
      Object.entries(r.reviews).map(([appraiserId, review]) => ({ round: r.round, appraiserId, review })),
    ),
    ...Object.entries(context.reviews).map(([appraiserId, review]) => ({
      round: context.round,
      appraiserId,
      review,
    })),
  ].filter((r) => manager || r.appraiserId === p.userId);
  const ids = [...new Set(all.map((r) => r.appraiserId))];
  const nameOf = await users.namesOf(db, ids);
  return {
    items: all.map((r) => ({
      round: r.round,
      appraiserId: r.appraiserId,
      appraiserName: nameOf.get(r.appraiserId) ?? 'Unknown',
      criteria: r.review.criteria,
      summary: r.review.summary,
      submittedAt: r.review.submittedAt,
    })),
  };
}
