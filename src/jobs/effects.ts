import type { AnyMachineSnapshot } from 'xstate';
import { stateString } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import { audiencesOf, type MessageContext } from '../notifications/messages.ts';
import type { AudienceScope } from '../notifications/recipients.ts';
import { enqueueWebhookEvent, webhookRow } from '../webhooks/outbox.ts';
import type { OutboxRows, TransitionResult, WorkflowActor } from '../workflow/types.ts';
import { pendingTimersFor, scheduleTimers, type TimerDue, type TimerEntity } from './timers.ts';

type EntityRow = { organisation_id: string; area_id: string; organisation_name: string };

/**
 * What every transition leaves behind, in its own transaction (so a rolled-back event leaves nothing):
 * the timers its new state needs (`timers`, null when they are as they were), and `outbox`: one
 * notification event for the people concerned (fanned out to each of them, in their language, by the
 * job worker: src/notifications/fan-out.ts) and a delivery per matching webhook subscription. The
 * workflow's `save` writes `outbox` in the statement that saves the new state and its history line
 * (src/workflow/save.ts).
 */
export function transitionEffects(
  entity: TimerEntity,
  result: TransitionResult<AnyMachineSnapshot, unknown>,
  actor: WorkflowActor,
  now: Date,
): { timers: TimerDue[] | null; outbox: OutboxRows } {
  const { before, after, event, version } = result;
  const wanted = pendingTimersFor(entity, after);
  // A transition that leaves the wanted timers as they were (most do) has nothing to reschedule.
  const timers =
    JSON.stringify(wanted) !== JSON.stringify(pendingTimersFor(entity, before.snapshot)) ? wanted : null;
  const row = before.row as EntityRow;
  const { facts: _facts, type, ...payload } = event;
  const to = stateString(after);
  const context = after.context as { panel?: string[]; round?: number; expiresAt?: string };

  const audiences = audiencesOf(entity, type);
  const scope: AudienceScope = {
    organisationId: row.organisation_id,
    areaId: row.area_id,
    // Before and after: a withdrawal still tells the panel it had.
    panel:
      entity === 'application'
        ? [...new Set<string>([...(before.snapshot.context.panel ?? []), ...(context.panel ?? [])])]
        : [],
    ...(typeof payload.userId === 'string' ? { subjectUserId: payload.userId } : {}),
  };
  const message: Omit<MessageContext, 'entity' | 'entityId' | 'type'> = {
    organisationName: row.organisation_name,
    to,
    payload,
    context: { reached: to, round: context.round, expiresAt: context.expiresAt },
    actorName: actor === 'system' ? null : actor.name,
  };
  const notice = {
    entity,
    entity_id: before.id,
    event_type: type,
    audiences: [...audiences],
    scope: JSON.stringify(scope),
    message: JSON.stringify(message),
    actor_id: actor === 'system' ? null : actor.userId,
    created_at: now,
  };
  const webhookEvent = {
    type: `${entity}.${type}`,
    areaId: row.area_id,
    at: now,
    data: {
      entity,
      id: before.id,
      organisationId: row.organisation_id,
      areaId: row.area_id,
      from: stateString(before.snapshot),
      to,
      version,
      actor: actor === 'system' ? 'system' : 'user',
    },
  };
  return { timers, outbox: { notice: audiences.length ? notice : null, webhook: webhookRow(webhookEvent) } };
}

/** A new award: its RENEWAL_DUE and EXPIRE timers, and the `award.AWARDED` webhook event. */
export async function recordAwardStarted(
  trx: DbOrTrx,
  award: {
    id: string;
    snapshot: AnyMachineSnapshot;
    organisationId: string;
    applicationId: string;
    expiresAt: Date;
  },
  now: Date,
): Promise<void> {
  await scheduleTimers(trx, 'award', award.id, pendingTimersFor('award', award.snapshot));
  const org = await trx
    .selectFrom('organisations')
    .select('area_id')
    .where('id', '=', award.organisationId)
    .executeTakeFirstOrThrow();
  await enqueueWebhookEvent(trx, {
    type: 'award.AWARDED',
    areaId: org.area_id,
    at: now,
    data: {
      entity: 'award',
      id: award.id,
      organisationId: award.organisationId,
      areaId: org.area_id,
      applicationId: award.applicationId,
      to: 'active',
      expiresAt: award.expiresAt.toISOString(),
      version: 1,
    },
  });
}
