import type { Selectable } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { NotificationsTable } from '../db/schema.ts';
import { keysetPage } from '../domain/pagination.ts';

export type NotificationRow = Selectable<NotificationsTable>;

/** A user's notifications, newest first. */
export async function pageOfNotificationsFor(
  db: DbOrTrx,
  userId: string,
  page: { limit: number; cursor?: string },
) {
  const qb = db.selectFrom('notifications').selectAll().where('user_id', '=', userId);
  return keysetPage(qb, {
    idColumn: 'notifications.id',
    ...page,
    sort: { column: 'notifications.created_at', direction: 'desc' },
  });
}
