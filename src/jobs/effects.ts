import type { Insertable } from 'kysely';
import type { AnyMachineSnapshot } from 'xstate';
import { stateString } from '../../workflows/index.ts';
import type { DbOrTrx } from '../db/index.ts';
import type { Locale, NotificationsTable } from '../db/schema.ts';
import { type PageLinks, pageLinks } from '../notifications/links.ts';
import {
  type Audience,
  audiencesOf,
  type Message,
  type MessageContext,
  renderBodies,
  renderEventMessage,
} from '../notifications/messages.ts';
import { audiencesMembers, type Recipient } from '../notifications/recipients.ts';
import { enqueueWebhookEvent, webhookDeliveries } from '../webhooks/outbox.ts';
import type { TransitionResult, WorkflowActor } from '../workflow/types.ts';
import { pendingTimersFor, scheduleTimers, type TimerEntity } from './timers.ts';

type EntityRow = { organisation_id: string; area_id: string; organisation_name: string };

/** What the effects need of the configuration: where the pages that e-mails link to are. */
export type EffectsSettings = { links: PageLinks };

let processSettings: EffectsSettings | null = null;

/**
 * Sets the settings of the transitions this process runs, from its configuration, where the transition
 * path does not carry them (the runner): `buildApp` and the job worker call it with `publicBaseUrl`.
 * Until then, links are relative to the service's origin.
 */
export function useEffectsSettings(settings: EffectsSettings): void {
  processSettings = settings;
}

const currentSettings = (): EffectsSettings => processSettings ?? { links: pageLinks('') };

/**
 * What every transition leaves behind, in its own transaction (so a rolled-back event leaves nothing):
 * the timers its new state needs, a notification (outbox row) per person concerned, and a delivery per
 * matching webhook subscription.
 */
export async function recordTransitionEffects(
  trx: DbOrTrx,
  entity: TimerEntity,
  result: TransitionResult<AnyMachineSnapshot, unknown>,
  actor: WorkflowActor,
  now: Date,
  settings: EffectsSettings = currentSettings(),
): Promise<void> {
  const { before, after, event, version } = result;
  const wanted = pendingTimersFor(entity, after);
  // A transition that leaves the wanted timers as they were (most do) has nothing to reschedule.
  if (JSON.stringify(wanted) !== JSON.stringify(pendingTimersFor(entity, before.snapshot))) {
    await scheduleTimers(trx, entity, before.id, wanted);
  }
  const row = before.row as EntityRow;
  const { facts: _facts, type, ...payload } = event;
  const to = stateString(after);
  const context = after.context as Record<string, any>;

  const audiences = audiencesOf(entity, type);
  const outbox: Insertable<NotificationsTable>[] = [];
  if (audiences.length) {
    const panel =
      entity === 'application'
        ? [...new Set([...(before.snapshot.context.panel ?? []), ...(context.panel ?? [])])]
        : [];
    const messageContext: MessageContext = {
      entity,
      entityId: before.id,
      organisationName: row.organisation_name,
      type,
      to,
      payload,
      context: { ...context, reached: to },
      actorName: actor === 'system' ? null : actor.name,
    };
    const url =
      entity === 'application' ? settings.links.application(before.id) : settings.links.award(before.id);
    const actorId = actor === 'system' ? null : actor.userId;
    // Rendered once per audience and language: whether an audience is told does not depend on it.
    const messages = new Map<string, Message | null>();
    const messageIn = (audience: Audience, locale: Locale) => {
      const key = `${audience}:${locale}`;
      if (!messages.has(key)) messages.set(key, renderEventMessage(locale, messageContext, audience, url));
      return messages.get(key) ?? null;
    };
    const toldAudiences = audiences.filter((audience) => messageIn(audience, 'en'));
    const members = await audiencesMembers(trx, toldAudiences, {
      organisationId: row.organisation_id,
      areaId: row.area_id,
      panel,
      subjectUserId: typeof payload.userId === 'string' ? payload.userId : undefined,
    });
    const told = new Set<string>();
    for (const audience of toldAudiences) {
      // Nobody is told of their own action, and nobody twice.
      const recipients = (members.get(audience) ?? []).filter(
        (m: Recipient) => m.id !== actorId && !told.has(m.id),
      );
      for (const r of recipients) {
        // Written now, in the recipient's language: the outbox keeps what is sent.
        const message = messageIn(audience, r.locale ?? 'en') as Message;
        told.add(r.id);
        const bodies = renderBodies(r.locale, r.name, message);
        outbox.push({
          user_id: r.id,
          kind: 'event' as const,
          event_type: `${entity}.${type}`,
          entity,
          entity_id: before.id,
          subject: message.subject,
          body_text: bodies.text,
          body_html: bodies.html,
          email_to: r.email,
          next_attempt_at: now,
          created_at: now,
        });
      }
    }
  }

  const deliveries = webhookDeliveries(
    // Every audience's notifications and the webhook deliveries: one statement (a data-modifying CTE).
    outbox.length ? trx.with('notified', (db) => db.insertInto('notifications').values(outbox)) : trx,
    {
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
    },
  );
  await deliveries.execute();
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
