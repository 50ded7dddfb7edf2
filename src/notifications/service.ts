import type { Db } from '../db/index.ts';
import { iso, isoOrNull } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { NotificationView } from './schemas.ts';

const toNotificationView = (n: repo.NotificationRow): NotificationView => ({
  id: n.id,
  kind: n.kind,
  eventType: n.event_type,
  // Notifications are written only about applications and awards (or, for digests, about nothing).
  entity: n.entity as NotificationView['entity'],
  entityId: n.entity_id,
  subject: n.subject,
  text: n.body_text,
  createdAt: iso(n.created_at),
  email: { to: n.email_to, status: n.email_status, attempts: n.attempts, sentAt: isoOrNull(n.sent_at) },
});

/** The caller's own notifications: nobody reads another person's. */
export async function listMyNotifications(db: Db, p: Principal, page: { limit: number; cursor?: string }) {
  const found = await repo.pageOfNotificationsFor(db, p.userId, page);
  return { items: found.items.map(toNotificationView), nextCursor: found.nextCursor };
}
