import { sql } from 'kysely';
import { initialTransition } from 'xstate';
import {
  APPLICATION_EVENT_TYPES,
  APPLICATION_MACHINE_VERSION,
  type ApplicationSnapshot,
  applicationEventBlockers,
  applicationEventRoles,
  applicationMachine,
  applicationStatusOf,
  isFinal,
  persistApplicationSnapshot,
  startReviewWarnings,
  stateString,
} from '../../workflows/index.ts';
import { appendApplicationHistory } from '../applications/history.ts';
import {
  type ApplicationAccess,
  type ApplicationRow,
  loadApplicationAccess,
  lockApplicationAccess,
} from '../applications/repository.ts';
import type { DbOrTrx } from '../db/index.ts';
import { appraiserWithinAssignerReach } from '../domain/access.ts';
import { criteriaWithEvidenceSince, evidenceCountsByCriterion } from '../evidence/repository.ts';
import { finishRenewal, startAward } from './awards.ts';
import type { Loaded, WorkflowActor, WorkflowDefinition } from './types.ts';

export type LoadedApplication = Loaded<ApplicationSnapshot, ApplicationRow>;

// The national team runs the appraisal where no local lead exists (SPEC §2).
const NATIONAL_ROUTE_NATIONS = new Set(['wales', 'scotland']);

/** The facts SPEC §4's guards need, computed from the database. */
async function applicationFacts(
  db: DbOrTrx,
  loaded: LoadedApplication,
  type: string,
  payload: Record<string, unknown>,
  actor: WorkflowActor,
): Promise<Record<string, unknown>> {
  const app = loaded.row;
  const context = loaded.snapshot.context;
  switch (type) {
    case 'SUBMIT': {
      const [pledge, answers, withEvidence, area] = await Promise.all([
        db
          .selectFrom('pledges')
          .select('organisation_id')
          .where('organisation_id', '=', app.organisation_id)
          .executeTakeFirst(),
        db
          .selectFrom('application_answers')
          .select('code')
          .where('application_id', '=', app.id)
          .where(sql<boolean>`btrim(text) <> ''`)
          .execute(),
        evidenceCountsByCriterion(db, app.id),
        db
          .selectFrom('areas')
          .select((eb) => [
            'areas.nation',
            'areas.active',
            eb
              .exists(
                eb
                  .selectFrom('grants')
                  .select('grants.id')
                  .where('grants.role', '=', 'lead')
                  .whereRef('grants.area_id', '=', 'areas.id'),
              )
              .as('has_lead'),
          ])
          .where('areas.id', '=', app.area_id)
          .executeTakeFirstOrThrow(),
      ]);
      const answered = new Set(answers.map((a) => a.code));
      return {
        pledgeSigned: Boolean(pledge),
        missingAnswers: context.criteriaCodes.filter((c) => !answered.has(c)),
        missingEvidence: context.criteriaCodes.filter((c) => !withEvidence[c]),
        routeAvailable: (area.active && Boolean(area.has_lead)) || NATIONAL_ROUTE_NATIONS.has(area.nation),
      };
    }
    case 'ASSIGN_APPRAISER': {
      const userId = typeof payload.userId === 'string' ? payload.userId : undefined;
      if (!userId) return {};
      const grants = await db
        .selectFrom('grants')
        .select(['role', 'organisation_id'])
        .where('user_id', '=', userId)
        .execute();
      const conflict = await db
        .selectFrom('conflicts')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('organisation_id', '=', app.organisation_id)
        .executeTakeFirst();
      const profile = await db
        .selectFrom('appraiser_profiles')
        .select('home_area_id')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return {
        isAppraiser: grants.some((g) => g.role === 'appraiser'),
        isOrganisationMember: grants.some((g) => g.organisation_id === app.organisation_id),
        hasConflict: Boolean(conflict),
        appraiserWithinAssignerReach: appraiserWithinAssignerReach(actor, profile?.home_area_id ?? null),
      };
    }
    case 'START_REVIEW': {
      const profiles = context.panel.length
        ? await db
            .selectFrom('appraiser_profiles')
            .select([
              'user_id as userId',
              'lived_experience as livedExperience',
              'local_group as localGroup',
              'cos_staff as cosStaff',
            ])
            .where('user_id', 'in', context.panel)
            .execute()
        : [];
      return { panelProfiles: profiles };
    }
    case 'RESUBMIT':
      return {
        criteriaWithNewEvidence: context.decision
          ? await criteriaWithEvidenceSince(db, app.id, context.decision.decidedAt)
          : [],
      };
    default:
      return {};
  }
}

const asLoaded = ({
  application,
  snapshot,
  relations,
}: ApplicationAccess): Loaded<ApplicationSnapshot, ApplicationRow> => ({
  id: application.id,
  row: application,
  snapshot,
  version: application.version,
  relations,
});

export const applicationWorkflow: WorkflowDefinition<ApplicationSnapshot, ApplicationRow> = {
  name: 'application',
  machine: applicationMachine,
  eventTypes: APPLICATION_EVENT_TYPES,
  eventRoles: applicationEventRoles,
  load: async (db, id, actor) => asLoaded(await loadApplicationAccess(db, actor, id)),
  lock: async (trx, id, actor) => asLoaded(await lockApplicationAccess(trx, actor, id)),
  facts: (db, loaded, type, payload, _preview, actor) => applicationFacts(db, loaded, type, payload, actor),
  blockers: (context, event) => applicationEventBlockers(context, event as never),
  warnings: (context, event) =>
    event.type === 'START_REVIEW' ? startReviewWarnings(context, event as never) : [],
  persist: (snapshot) => persistApplicationSnapshot(snapshot) as unknown as Record<string, unknown>,
  async save(db, loaded, next, persisted, version, now) {
    await db
      .updateTable('applications')
      .set({
        snapshot: JSON.stringify(persisted),
        state: stateString(next),
        status: applicationStatusOf(next),
        round: next.context.round,
        machine_version: APPLICATION_MACHINE_VERSION,
        version,
        updated_at: now,
      })
      .where('id', '=', loaded.id)
      .execute();
  },
  appendHistory: (db, e) =>
    appendApplicationHistory(db, {
      applicationId: e.id,
      type: e.type,
      actorId: e.actorId,
      from: e.from,
      to: e.to,
      payload: e.payload,
      snapshot: e.snapshot,
      version: e.version,
      at: e.at,
    }),
  async afterTransition(db, { before, after, event }, _actor, now) {
    const app = before.row;
    if (event.type === 'DECLARE_CONFLICT') {
      // Remembered so the person is never assigned to this organisation again.
      await db
        .insertInto('conflicts')
        .values({
          user_id: event.facts.actorId,
          organisation_id: app.organisation_id,
          reason: String(event.reason ?? ''),
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    const status = applicationStatusOf(after);
    if (status === before.row.status) return;
    if (status === 'awarded') {
      const awardId = await startAward(db, { application: app, now });
      if (app.previous_award_id)
        await finishRenewal(db, app.previous_award_id, { renewed: true, newAwardId: awardId, now });
    } else if (isFinal(after) && app.previous_award_id) {
      await finishRenewal(db, app.previous_award_id, { renewed: false, now });
    }
  },
};

/** Creates a draft application pinned to the stream's current criteria set. */
export async function startApplication(
  db: DbOrTrx,
  input: {
    organisationId: string;
    streamId: string;
    kind: 'initial' | 'renewal';
    createdBy: string | null;
    previousAwardId?: string | null;
    now?: Date;
  },
): Promise<{ id: string; criteriaSetId: string; criteriaCodes: string[] }> {
  const stream = await db
    .selectFrom('streams')
    .innerJoin('criteria_sets', 'criteria_sets.stream_id', 'streams.id')
    .select(['streams.min_panel_size', 'criteria_sets.id as criteria_set_id'])
    .where('streams.id', '=', input.streamId)
    .orderBy('criteria_sets.version', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  const criteria = await db
    .selectFrom('criteria')
    .select('code')
    .where('criteria_set_id', '=', stream.criteria_set_id)
    .orderBy('position')
    .execute();
  const criteriaCodes = criteria.map((c) => c.code);
  const [snapshot] = initialTransition(applicationMachine, {
    criteriaCodes,
    minPanelSize: stream.min_panel_size,
  });
  const persisted = persistApplicationSnapshot(snapshot);
  const now = input.now ?? new Date();
  const { id } = await db
    .insertInto('applications')
    .values({
      organisation_id: input.organisationId,
      stream_id: input.streamId,
      criteria_set_id: stream.criteria_set_id,
      kind: input.kind,
      previous_award_id: input.previousAwardId ?? null,
      state: stateString(snapshot),
      status: applicationStatusOf(snapshot),
      round: snapshot.context.round,
      snapshot: JSON.stringify(persisted),
      machine_version: APPLICATION_MACHINE_VERSION,
      version: 1,
      created_by: input.createdBy,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await appendApplicationHistory(db, {
    applicationId: id,
    type: 'CREATED',
    actorId: input.createdBy,
    from: null,
    to: stateString(snapshot),
    payload: {
      kind: input.kind,
      criteriaSetId: stream.criteria_set_id,
      ...(input.previousAwardId ? { previousAwardId: input.previousAwardId } : {}),
    },
    snapshot: persisted as unknown as Record<string, unknown>,
    version: 1,
    at: now,
  });
  return { id, criteriaSetId: stream.criteria_set_id, criteriaCodes };
}
