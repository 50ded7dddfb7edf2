import type { Insertable, Selectable } from 'kysely';
import type { Db, Trx } from '../db/index.ts';
import type { Locale, NotificationEventsTable, NotificationsTable } from '../db/schema.ts';
import type { PageLinks } from './links.ts';
import {
  type Audience,
  type Message,
  type MessageContext,
  renderBodies,
  renderEventMessage,
} from './messages.ts';
import { type AudienceScope, audiencesMembers } from './recipients.ts';

export type FanOutSummary = { events: number; notifications: number };

type NotificationEvent = Selectable<NotificationEventsTable>;

/** Rows per INSERT: eleven parameters each, well under Postgres's 65,535 per statement. */
const INSERT_CHUNK = 1000;

/**
 * Turns the workflow events waiting in `notification_events` (written by each transition, in its
 * transaction: src/jobs/effects.ts) into one notification per person concerned, in that person's
 * language, then deletes them, all in one transaction per batch: a notification is written once, even
 * with several workers (the events are claimed with SKIP LOCKED). Run by the job worker before the
 * e-mails are sent, so a notification's mail leaves in the same pass that writes it.
 */
export async function fanOutNotifications(db: Db, links: PageLinks, batch = 200): Promise<FanOutSummary> {
  const summary: FanOutSummary = { events: 0, notifications: 0 };
  for (;;) {
    const claimed = await db.transaction().execute(async (trx) => {
      const events = await trx
        .selectFrom('notification_events')
        .selectAll()
        .orderBy('id')
        .limit(batch)
        .forUpdate()
        .skipLocked()
        .execute();
      if (!events.length) return 0;
      const rows: Insertable<NotificationsTable>[] = [];
      for (const event of events) rows.push(...(await notificationsOf(trx, event, links)));
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('notifications')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .execute();
      }
      await trx
        .deleteFrom('notification_events')
        .where(
          'id',
          'in',
          events.map((e) => e.id),
        )
        .execute();
      summary.notifications += rows.length;
      return events.length;
    });
    summary.events += claimed;
    if (claimed < batch) return summary;
  }
}

/**
 * One event's notifications: each audience's members as they are now, except the person who sent it,
 * each told once (by the first audience that names them), in their language.
 */
async function notificationsOf(
  trx: Trx,
  event: NotificationEvent,
  links: PageLinks,
): Promise<Insertable<NotificationsTable>[]> {
  const context: MessageContext = {
    ...(JSON.parse(event.message) as Omit<MessageContext, 'entity' | 'entityId' | 'type'>),
    entity: event.entity,
    entityId: event.entity_id,
    type: event.event_type,
  };
  const url =
    event.entity === 'application' ? links.application(event.entity_id) : links.award(event.entity_id);
  // Rendered once per audience and language: whether an audience is told does not depend on it.
  const messages = new Map<string, Message | null>();
  const messageIn = (audience: Audience, locale: Locale) => {
    const key = `${audience}:${locale}`;
    if (!messages.has(key)) messages.set(key, renderEventMessage(locale, context, audience, url));
    return messages.get(key) ?? null;
  };
  const told = (event.audiences as Audience[]).filter((audience) => messageIn(audience, 'en'));
  if (!told.length) return [];
  const members = await audiencesMembers(trx, told, JSON.parse(event.scope) as AudienceScope);
  const done = new Set<string>(event.actor_id ? [event.actor_id] : []);
  const rows: Insertable<NotificationsTable>[] = [];
  for (const audience of told) {
    for (const person of members.get(audience) ?? []) {
      if (done.has(person.id)) continue;
      done.add(person.id);
      const message = messageIn(audience, person.locale ?? 'en') as Message;
      const bodies = renderBodies(person.locale, person.name, message);
      rows.push({
        user_id: person.id,
        kind: 'event',
        event_type: `${event.entity}.${event.event_type}`,
        entity: event.entity,
        entity_id: event.entity_id,
        subject: message.subject,
        body_text: bodies.text,
        body_html: bodies.html,
        email_to: person.email,
        next_attempt_at: event.created_at,
        created_at: event.created_at,
      });
    }
  }
  return rows;
}
