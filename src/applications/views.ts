import type { ApplicationContext, ApplicationSnapshot, EventRole } from '../../workflows/index.ts';
import { stateString, statusOf } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import { isManager, visiblePanelMembers } from '../domain/access.ts';
import { iso } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';
import { applicationWorkflow, guardFactsFor } from '../workflow/applications.ts';
import { previewEvents } from '../workflow/runner.ts';
import type { Loaded } from '../workflow/types.ts';
import {
  type ApplicationDetails,
  type ApplicationRow,
  criteriaOfSet,
  factsAsOf,
  type PanelPerson,
  panelPeopleOf,
} from './repository.ts';
import type { ApplicationView } from './schemas.ts';

/**
 * What each caller may see of an application (SPEC §3), decided here and nowhere else: applicants never
 * see individual reviews or appraisers' profiles; appraisers see who on the panel reviewed; leads and
 * admins see everything.
 */

function panelView(
  people: PanelPerson[],
  members: string[],
  context: ApplicationContext,
  relations: Set<EventRole>,
) {
  const byId = new Map(people.map((p) => [p.id, p]));
  return members.map((userId) => {
    const person = byId.get(userId);
    const member = { userId, name: person?.name ?? 'Unknown' };
    if (relations.has('applicant') && !isManager(relations) && !relations.has('appraiser')) return member;
    const withProgress = { ...member, reviewed: context.reviewedBy.includes(userId) };
    if (!isManager(relations)) return withProgress;
    return {
      ...withProgress,
      livedExperience: Boolean(person?.lived),
      localGroup: Boolean(person?.local),
      cosStaff: Boolean(person?.cos),
    };
  });
}

/**
 * The application as `viewer` may see it: now (from the details read with the row, see
 * loadApplicationForView), or as it stood at an earlier instant (rebuilt from history).
 */
export async function renderApplication(
  db: DbOrTrx,
  loaded: Loaded<ApplicationSnapshot, ApplicationRow>,
  viewer: Principal,
  view:
    | { details: ApplicationDetails }
    | { asOf: { at: Date; snapshot: ApplicationSnapshot; version: number } },
): Promise<ApplicationView> {
  const app = loaded.row;
  const asOf = 'asOf' in view ? view.asOf : undefined;
  const snapshot = asOf?.snapshot ?? loaded.snapshot;
  const context = snapshot.context;
  // Who may be named: the panel as it stood, filtered by who is on it now (SPEC §3, see access.ts).
  const members = visiblePanelMembers(loaded.relations, snapshot, loaded.snapshot.context.panel);
  const [criteria, facts, people, events] = await Promise.all([
    criteriaOfSet(db, app.criteria_set_id),
    asOf ? factsAsOf(db, app.id, asOf.at) : (view as { details: ApplicationDetails }).details,
    asOf ? panelPeopleOf(db, members) : (view as { details: ApplicationDetails }).details.panelPeople,
    // The past cannot be acted on: a view as of an earlier instant offers no events.
    asOf
      ? { allowedEvents: [], blockers: {} }
      : previewEvents(applicationWorkflow, loaded, viewer, (type) =>
          guardFactsFor(type, (view as { details: ApplicationDetails }).details.guardFacts, context),
        ),
  ]);
  const panel = panelView(people, members, context, loaded.relations);
  const awardId = asOf ? null : (view as { details: ApplicationDetails }).details.awardId;
  return {
    id: app.id,
    organisationId: app.organisation_id,
    organisationName: app.organisation_name,
    streamId: app.stream_id,
    areaId: app.area_id,
    kind: app.kind,
    round: context.round,
    state: stateString(snapshot),
    status: statusOf(snapshot),
    version: asOf?.version ?? app.version,
    criteriaSetId: app.criteria_set_id,
    criteria,
    answers: facts.answers,
    evidenceCounts: facts.evidenceCounts,
    panel,
    feedback: context.feedback,
    questions: context.questions,
    responses: context.responses,
    meeting: context.meeting as Record<string, unknown> | null,
    decision: context.decision as Record<string, unknown> | null,
    previousRounds: context.rounds.map((r) => ({
      round: r.round,
      feedback: r.feedback,
      questions: r.questions,
      responses: r.responses,
      meeting: r.meeting as Record<string, unknown> | null,
      decision: r.decision as Record<string, unknown> | null,
    })),
    returned: context.returned as Record<string, unknown> | null,
    withdrawal: context.withdrawal as Record<string, unknown> | null,
    submittedAt: context.submittedAt,
    allowedEvents: events.allowedEvents,
    blockers: events.blockers,
    ...(awardId ? { awardId } : {}),
    ...(app.previous_award_id ? { previousAwardId: app.previous_award_id } : {}),
    ...(asOf ? { asOf: asOf.at.toISOString() } : {}),
    createdAt: iso(app.created_at),
    updatedAt: iso(app.updated_at),
  };
}

/** The events that change who is on the panel: to anyone but leads and admins, one anonymous kind. */
const PANEL_EVENTS: readonly string[] = ['ASSIGN_APPRAISER', 'UNASSIGN_APPRAISER', 'DECLARE_CONFLICT'];

/** What the history may show a viewer beyond their relations (decided in src/domain/access.ts). */
export type HistoryAudience = {
  /** People not to be named: panel members who left, and the forming panel for an applicant. */
  hiddenPeople: Set<string>;
  /** Whether the viewer may read the evidence files; if not, evidence lines carry no file details. */
  evidenceReadable: boolean;
};

/**
 * One history line as a viewer may see it. Leads and admins see everything. Others never see an
 * individual review that is not their own, nor the panel-composition warnings (they reveal appraisers'
 * profiles). Every change to the panel (an assignment, an unassignment, a declared conflict) is a
 * `PANEL_CHANGED` by nobody with no payload, so who left, and why, cannot be told (SPEC §3); the people
 * in `hiddenPeople` are not named as the actor of any line; evidence lines lose their file details
 * when the viewer may no longer read the files.
 */
export function historyLineFor(
  line: { type: string; actorId: string | null; payload: Record<string, unknown> },
  relations: Set<EventRole>,
  viewerId: string,
  audience: HistoryAudience,
): { type: string; payload: Record<string, unknown>; hideActor: boolean } {
  if (isManager(relations)) return { ...line, hideActor: false };
  if (PANEL_EVENTS.includes(line.type)) return { type: 'PANEL_CHANGED', payload: {}, hideActor: true };
  const hideActor = line.actorId !== null && audience.hiddenPeople.has(line.actorId);
  if (line.type === 'SUBMIT_REVIEW' && line.actorId !== viewerId)
    // Fellow panel members see who has reviewed (as the panel's progress shows); applicants do not.
    return { type: line.type, payload: {}, hideActor: hideActor || !relations.has('appraiser') };
  if (line.type.startsWith('EVIDENCE_') && !audience.evidenceReadable)
    return { type: line.type, payload: {}, hideActor };
  const { warnings: _panelWarnings, ...payload } = line.payload;
  return { type: line.type, payload, hideActor };
}
