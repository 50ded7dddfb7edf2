import type { Selectable } from 'kysely';
import { initialTransition } from 'xstate';
import {
  AWARD_EVENT_TYPES,
  AWARD_MACHINE_VERSION,
  type AwardSnapshot,
  acceptedEventTypes,
  awardEventBlockers,
  awardEventRoles,
  awardMachine,
  awardStatusOf,
  persistAwardSnapshot,
  reviveAwardSnapshot,
  snapshotJson,
  stateString,
} from '../../workflows/index.ts';
import type { ApplicationRow } from '../applications/repository.ts';
import type { DbOrTrx, Trx } from '../db/index.ts';
import type { AwardsTable } from '../db/schema.ts';
import { directoryGeneration } from '../db/validators.ts';
import { assertRelated, relationsTo } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import type { WorkflowActor } from '../domain/principal.ts';
import { recordAwardStarted } from '../jobs/effects.ts';
import { runTransition } from './runner.ts';
import { saveTransition } from './save.ts';
import type { HistoryLine, Loaded, ViewValidator, WorkflowDefinition } from './types.ts';

export type AwardRow = Selectable<AwardsTable> & { area_id: string; organisation_name: string };

export function selectAwards(db: DbOrTrx) {
  return db
    .selectFrom('awards')
    .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
    .selectAll('awards')
    .select(['organisations.area_id', 'organisations.name as organisation_name']);
}

/** Awards are seen by the organisation's members, its area's lead and admins (no panel relation). */
async function loadAward(
  query: { executeTakeFirst(): Promise<AwardRow | undefined> },
  actor: WorkflowActor,
): Promise<Loaded<AwardSnapshot, AwardRow>> {
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('award');
  const relations = relationsTo(actor, row);
  assertRelated(relations, 'award');
  return { id: row.id, row, snapshot: reviveAwardSnapshot(row.snapshot), version: row.version, relations };
}

/** An award the caller may see with the validator of its view (its ETag), in one query. */
export async function loadAwardForView(
  db: DbOrTrx,
  id: string,
  actor: WorkflowActor,
): Promise<{ loaded: Loaded<AwardSnapshot, AwardRow>; validator: ViewValidator }> {
  const row = await selectAwards(db)
    .select(directoryGeneration.as('directory_generation'))
    .where('awards.id', '=', id)
    .executeTakeFirst();
  const loaded = await loadAward({ executeTakeFirst: async () => row }, actor);
  return { loaded, validator: awardValidatorOf(row as { version: number; directory_generation: string }) };
}

/** The validator of the caller's view of an award (a revalidation): one primary-key lookup. */
export async function loadAwardValidator(
  db: DbOrTrx,
  id: string,
  actor: WorkflowActor,
): Promise<ViewValidator> {
  const row = await db
    .selectFrom('awards')
    .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
    .select([
      'awards.version',
      'awards.organisation_id',
      'organisations.area_id',
      directoryGeneration.as('directory_generation'),
    ])
    .where('awards.id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('award');
  assertRelated(relationsTo(actor, row), 'award');
  return awardValidatorOf(row);
}

// An award's view shows its own row, its organisation's name and area, and what the caller may do.
const awardValidatorOf = (row: { version: number; directory_generation: string }): ViewValidator => ({
  version: row.version,
  stamp: `w${row.directory_generation}`,
});

const awardLine = (e: HistoryLine) => ({
  award_id: e.id,
  type: e.type,
  actor_id: e.actorId,
  from_state: e.from,
  to_state: e.to,
  payload: JSON.stringify(e.payload),
  version: e.version,
  at: e.at,
});

export const awardWorkflow: WorkflowDefinition<AwardSnapshot, AwardRow> = {
  name: 'award',
  machine: awardMachine,
  eventTypes: AWARD_EVENT_TYPES,
  eventRoles: awardEventRoles,
  load: (db, id, actor) => loadAward(selectAwards(db).where('awards.id', '=', id), actor),
  lock: (trx, id, actor) =>
    loadAward(selectAwards(trx).where('awards.id', '=', id).forUpdate('awards'), actor),
  facts: async () => ({}),
  blockers: (context, event) => awardEventBlockers(context, event as never),
  persist: (snapshot) => snapshotJson(snapshot),
  async save(db, loaded, next, history, outbox) {
    return saveTransition(db, 'award', {
      ...outbox,
      line: awardLine(history),
      set: {
        snapshot: history.snapshot,
        state: awardStatusOf(next),
        expires_at: new Date(next.context.expiresAt),
        machine_version: AWARD_MACHINE_VERSION,
        version: history.version,
        updated_at: history.at,
      },
      where: { id: loaded.id, version: loaded.version },
    });
  },
  async appendHistory(db, e) {
    await db.insertInto('award_events').values(awardLine(e)).execute();
  },
};

/** Creates the award of an application that reached `awarded`: valid for the stream's award length. */
export async function startAward(
  db: Trx,
  input: { application: ApplicationRow; now: Date },
): Promise<string> {
  const { application, now } = input;
  const stream = await db
    .selectFrom('streams')
    .select(['award_years', 'renewal_notice_days', 'grace_days'])
    .where('id', '=', application.stream_id)
    .executeTakeFirstOrThrow();
  const expiresAt = new Date(now);
  expiresAt.setUTCFullYear(expiresAt.getUTCFullYear() + stream.award_years);
  const [snapshot] = initialTransition(awardMachine, {
    expiresAt: expiresAt.toISOString(),
    renewalNoticeDays: stream.renewal_notice_days,
    graceDays: stream.grace_days,
  });
  const persisted = persistAwardSnapshot(snapshot);
  const { id } = await db
    .insertInto('awards')
    .values({
      organisation_id: application.organisation_id,
      stream_id: application.stream_id,
      application_id: application.id,
      state: awardStatusOf(snapshot),
      snapshot: JSON.stringify(persisted),
      machine_version: AWARD_MACHINE_VERSION,
      version: 1,
      awarded_at: now,
      expires_at: expiresAt,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await awardWorkflow.appendHistory(db, {
    id,
    type: 'AWARDED',
    actorId: null,
    from: '',
    to: stateString(snapshot),
    payload: { applicationId: application.id },
    snapshot: persisted as unknown as Record<string, unknown>,
    version: 1,
    at: now,
  });
  await recordAwardStarted(
    db,
    { id, snapshot, organisationId: application.organisation_id, applicationId: application.id, expiresAt },
    now,
  );
  return id;
}

/** A renewal application opened for this award: RENEWAL_STARTED, through the one transition path. */
export async function beginRenewal(trx: Trx, awardId: string, renewalApplicationId: string, now: Date) {
  await runTransition(awardWorkflow, trx, {
    id: awardId,
    event: { type: 'RENEWAL_STARTED' },
    actor: 'system',
    extraFacts: { renewalApplicationId },
    now,
  });
}

/** The renewal application ended: RENEWED when awarded, else RENEWAL_FAILED (if the award still awaits it). */
export async function finishRenewal(
  trx: Trx,
  awardId: string,
  outcome: { renewed: true; newAwardId: string; now: Date } | { renewed: false; now: Date },
) {
  const loaded = await awardWorkflow.lock(trx, awardId, 'system');
  const type = outcome.renewed ? 'RENEWED' : 'RENEWAL_FAILED';
  // An award revoked or expired meanwhile has nothing left to renew.
  if (!acceptedEventTypes(loaded.snapshot).includes(type)) return;
  await runTransition(awardWorkflow, trx, {
    id: awardId,
    event: { type },
    actor: 'system',
    extraFacts: outcome.renewed ? { newAwardId: outcome.newAwardId } : {},
    now: outcome.now,
  });
}
