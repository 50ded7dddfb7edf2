import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx } from '../db/index.ts';
import type { Locale } from '../db/schema.ts';
import type { Grant } from '../domain/principal.ts';

/** All SQL about sign-in links, browser sessions and a person's language. */

export type LinkPurpose = 'sign-in' | 'invitation';
export type AuthenticatedBy = 'email-link' | 'passkey';

export async function findUserByEmail(db: DbOrTrx, email: string) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'locale'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
}

export async function findUserById(db: DbOrTrx, id: string) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'locale'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function insertLink(
  db: DbOrTrx,
  link: {
    user_id: string;
    token_hash: string;
    purpose: LinkPurpose;
    created_by: string | null;
    expires_at: Date;
  },
) {
  await db.insertInto('sign_in_links').values(link).execute();
}

/** Links that can no longer be used are of no further use: removed when new ones are made. */
export async function deleteDeadLinks(db: DbOrTrx, now: Date) {
  await db
    .deleteFrom('sign_in_links')
    .where((eb) => eb.or([eb('expires_at', '<', now), eb('used_at', 'is not', null)]))
    .execute();
}

/** The link behind a hash while it can still be used, without using it. */
export async function findUsableLink(db: DbOrTrx, tokenHash: string, now: Date) {
  return db
    .selectFrom('sign_in_links as l')
    .innerJoin('users as u', 'u.id', 'l.user_id')
    .select(['l.id', 'l.user_id', 'l.purpose', 'l.expires_at', 'u.email', 'u.name', 'u.locale'])
    .where('l.token_hash', '=', tokenHash)
    .where('l.used_at', 'is', null)
    .where('l.expires_at', '>', now)
    .executeTakeFirst();
}

/**
 * Uses a link: one statement, so two presses of the button (or two devices) cannot both succeed.
 * Every other unused sign-in link of the person goes with it: the newest one served its purpose.
 */
export async function consumeLink(db: DbOrTrx, tokenHash: string, now: Date) {
  const used = await db
    .updateTable('sign_in_links')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning(['user_id', 'purpose'])
    .executeTakeFirst();
  if (used) {
    await db
      .updateTable('sign_in_links')
      .set({ used_at: now })
      .where('user_id', '=', used.user_id)
      .where('purpose', '=', 'sign-in')
      .where('used_at', 'is', null)
      .execute();
  }
  return used;
}

export async function insertSession(
  db: DbOrTrx,
  session: {
    user_id: string;
    token_hash: string;
    user_agent: string | null;
    expires_at: Date;
    authenticated_by: AuthenticatedBy;
  },
) {
  return db.insertInto('sessions').values(session).returning('id').executeTakeFirstOrThrow();
}

/** A person's sessions that ended (revoked, idle too long or past their end) are removed at their next sign-in. */
export async function deleteEndedSessions(db: DbOrTrx, userId: string, idleSince: Date, now: Date) {
  await db
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .where((eb) =>
      eb.or([
        eb('revoked_at', 'is not', null),
        eb('expires_at', '<=', now),
        eb('last_seen_at', '<=', idleSince),
      ]),
    )
    .execute();
}

/** The live session behind a cookie's hash, with its person, their language and their grants. */
export async function findLiveSession(db: DbOrTrx, tokenHash: string, idleSince: Date, now: Date) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select((eb) => [
      's.id as sessionId',
      's.last_seen_at as lastSeenAt',
      's.authenticated_by as authenticatedBy',
      'u.id',
      'u.email',
      'u.name',
      'u.locale',
      jsonArrayFrom(
        eb
          .selectFrom('grants as g')
          .select(['g.role', 'g.area_id as areaId', 'g.organisation_id as organisationId'])
          .whereRef('g.user_id', '=', 'u.id')
          .orderBy('g.created_at'),
      ).as('grants'),
    ])
    .where('s.token_hash', '=', tokenHash)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('s.last_seen_at', '>', idleSince)
    .executeTakeFirst()
    .then((row) => (row ? { ...row, grants: row.grants as Grant[] } : undefined));
}

export async function touchSession(db: DbOrTrx, sessionId: string, now: Date) {
  await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', sessionId).execute();
}

export async function listLiveSessions(db: DbOrTrx, userId: string, idleSince: Date, now: Date) {
  return db
    .selectFrom('sessions')
    .select(['id', 'user_agent', 'created_at', 'last_seen_at'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', idleSince)
    .orderBy('last_seen_at', 'desc')
    .execute();
}

/** Revokes one of a person's sessions; false when it is not theirs or already ended. */
export async function revokeSession(db: DbOrTrx, userId: string, sessionId: string, now: Date) {
  const row = await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function revokeSessionByHash(db: DbOrTrx, tokenHash: string, now: Date) {
  await db
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function setUserLocale(db: DbOrTrx, userId: string, locale: Locale) {
  await db
    .updateTable('users')
    .set({ locale })
    .where('id', '=', userId)
    .where(sql<boolean>`locale is distinct from ${locale}`)
    .execute();
}
