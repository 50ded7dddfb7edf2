import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx, Trx } from '../db/index.ts';
import type { Database, OfferedGrant, Role } from '../db/schema.ts';
import { invalidateCachedPrincipals } from './tokens.ts';

/** All SQL about users, their grants, appraiser profiles and tokens. */

export type UserRow = {
  id: string;
  email: string;
  name: string;
  created_at: Date;
  /** `organisation_area_id`: the area of an applicant grant's organisation, for scope checks. */
  grants: {
    role: Role;
    area_id: string | null;
    organisation_id: string | null;
    organisation_area_id: string | null;
  }[];
  profile: {
    lived_experience: boolean;
    local_group: boolean;
    cos_staff: boolean;
    home_area_id: string | null;
  } | null;
};

export function selectUsers(db: DbOrTrx) {
  return db
    .selectFrom('users')
    .select((eb) => [
      'users.id',
      'users.email',
      'users.name',
      'users.created_at',
      jsonArrayFrom(
        eb
          .selectFrom('grants')
          .leftJoin('organisations', 'organisations.id', 'grants.organisation_id')
          .select([
            'grants.role',
            'grants.area_id',
            'grants.organisation_id',
            'organisations.area_id as organisation_area_id',
          ])
          .whereRef('grants.user_id', '=', 'users.id')
          .orderBy('grants.created_at'),
      ).as('grants'),
      jsonObjectFrom(
        eb
          .selectFrom('appraiser_profiles as p')
          .select(['p.lived_experience', 'p.local_group', 'p.cos_staff', 'p.home_area_id'])
          .whereRef('p.user_id', '=', 'users.id'),
      ).as('profile'),
    ]);
}

export type UserFilters = { role?: Role; organisationId?: string; areaId?: string; email?: string };

/** The grants of the user on the row being filtered. */
const grantsOfUser = (eb: ExpressionBuilder<Database, 'users'>) =>
  eb.selectFrom('grants').select('grants.id').whereRef('grants.user_id', '=', 'users.id');

/** Users within `scope` (from src/domain/access.ts) matching the list's filters, unsorted. */
export function usersMatching(
  db: DbOrTrx,
  scope: (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>,
  f: UserFilters,
) {
  let qb = selectUsers(db).where(scope);
  const { role, organisationId, areaId, email } = f;
  if (role) qb = qb.where((eb) => eb.exists(grantsOfUser(eb).where('grants.role', '=', role)));
  if (organisationId)
    qb = qb.where((eb) => eb.exists(grantsOfUser(eb).where('grants.organisation_id', '=', organisationId)));
  if (areaId) {
    // Leads of the area, and appraisers whose home area it is.
    qb = qb.where((eb) =>
      eb.or([
        eb.exists(grantsOfUser(eb).where('grants.area_id', '=', areaId)),
        eb.exists(
          eb
            .selectFrom('appraiser_profiles')
            .select('appraiser_profiles.user_id')
            .whereRef('appraiser_profiles.user_id', '=', 'users.id')
            .where('appraiser_profiles.home_area_id', '=', areaId),
        ),
      ]),
    );
  }
  if (email) qb = qb.where((eb) => eb(eb.fn('lower', ['users.email']), '=', email.toLowerCase()));
  return qb;
}

/** The applicant members of an organisation, by name. */
export async function membersOf(db: DbOrTrx, organisationId: string, limit: number): Promise<UserRow[]> {
  return (await selectUsers(db)
    .where((eb) => eb.exists(grantsOfUser(eb).where('grants.organisation_id', '=', organisationId)))
    .orderBy('users.name')
    .limit(limit)
    .execute()) as UserRow[];
}

export async function findUser(
  db: DbOrTrx,
  id: string,
  scope?: (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>,
): Promise<UserRow | undefined> {
  let q = selectUsers(db).where('users.id', '=', id);
  if (scope) q = q.where(scope);
  return (await q.executeTakeFirst()) as UserRow | undefined;
}

export async function findUserIdByEmail(db: DbOrTrx, email: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  return row?.id;
}

export async function insertUser(db: DbOrTrx, user: { email: string; name: string }): Promise<string> {
  const row = await db.insertInto('users').values(user).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts the user unless the address is taken (also by a concurrent insert): their id, else undefined. */
export async function insertUserIfNew(
  db: DbOrTrx,
  user: { email: string; name: string },
): Promise<string | undefined> {
  const row = await db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function insertGrant(
  db: DbOrTrx,
  grant: { user_id: string; role: Role; area_id?: string | null; organisation_id?: string | null },
) {
  await db
    .insertInto('grants')
    .values(grant)
    .onConflict((oc) => oc.doNothing())
    .execute();
  invalidateCachedPrincipals();
}

export async function upsertAppraiserProfile(
  db: DbOrTrx,
  profile: {
    user_id: string;
    lived_experience: boolean;
    local_group: boolean;
    cos_staff: boolean;
    home_area_id: string | null;
  },
) {
  await db
    .insertInto('appraiser_profiles')
    .values(profile)
    .onConflict((oc) => oc.column('user_id').doUpdateSet(profile))
    .execute();
}

export async function insertToken(
  db: DbOrTrx,
  token: { user_id: string; token_hash: string; created_by: string | null; expires_at: Date | null },
) {
  return db
    .insertInto('api_tokens')
    .values(token)
    .returning(['id', 'created_at', 'expires_at'])
    .executeTakeFirstOrThrow();
}

export async function findToken(db: DbOrTrx, id: string) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'user_id', 'created_at', 'expires_at', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listTokens(db: DbOrTrx, userId: string) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'created_at', 'expires_at', 'revoked_at'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .limit(200)
    .execute();
}

export async function revokeToken(db: DbOrTrx, id: string) {
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  invalidateCachedPrincipals();
}

/** The names of these users, by id. */
export async function namesOf(db: DbOrTrx, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

export async function areasExist(db: DbOrTrx, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('areas').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}

export async function organisationAreas(db: DbOrTrx, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'area_id'])
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r.area_id]));
}

/** Whether the user sits on the panel of an application outside these areas (their reach beyond them). */
export async function onPanelOutside(db: DbOrTrx, userId: string, areaIds: string[]): Promise<boolean> {
  const row = await db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select('applications.id')
    .where(sql<boolean>`applications.snapshot -> 'context' -> 'panel' ? ${userId}`)
    .where('organisations.area_id', 'not in', areaIds)
    .limit(1)
    .executeTakeFirst();
  return Boolean(row);
}

/** The keys a list may be sorted by (`?sort=key` or `-key`), and the column each one orders. */
export const USER_SORT_COLUMNS = { createdAt: 'users.created_at', email: 'users.email', name: 'users.name' };
export const USER_SORT_KEYS = Object.keys(USER_SORT_COLUMNS) as (keyof typeof USER_SORT_COLUMNS)[];

/** The names and areas of these organisations, by id. */
export async function organisationsByIds(
  db: DbOrTrx,
  ids: string[],
): Promise<Map<string, { name: string; areaId: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('organisations')
    .select(['id', 'name', 'area_id'])
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, { name: r.name, areaId: r.area_id }]));
}

// ——— invitations ———

export type InvitationRow = {
  id: string;
  user_id: string;
  email: string;
  name: string;
  grants: OfferedGrant[];
  invited_by: string | null;
  invited_by_name: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  declined_at: Date | null;
};

function selectInvitations(db: DbOrTrx) {
  return db
    .selectFrom('invitations')
    .leftJoin('users as inviter', 'inviter.id', 'invitations.invited_by')
    .select([
      'invitations.id',
      'invitations.user_id',
      'invitations.email',
      'invitations.name',
      'invitations.grants',
      'invitations.invited_by',
      'inviter.name as invited_by_name',
      'invitations.created_at',
      'invitations.expires_at',
      'invitations.accepted_at',
      'invitations.declined_at',
    ]);
}

export async function insertInvitation(
  db: DbOrTrx,
  invitation: {
    user_id: string;
    email: string;
    name: string;
    grants: OfferedGrant[];
    invited_by: string;
    expires_at: Date;
  },
): Promise<InvitationRow> {
  const { id } = await db
    .insertInto('invitations')
    .values({ ...invitation, grants: JSON.stringify(invitation.grants) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return (await selectInvitations(db)
    .where('invitations.id', '=', id)
    .executeTakeFirstOrThrow()) as InvitationRow;
}

/** A person's invitations, newest first. */
export async function invitationsOf(db: DbOrTrx, userId: string, limit: number): Promise<InvitationRow[]> {
  return (await selectInvitations(db)
    .where('invitations.user_id', '=', userId)
    .orderBy('invitations.created_at', 'desc')
    .orderBy('invitations.id', 'desc')
    .limit(limit)
    .execute()) as InvitationRow[];
}

/** One of the person's invitations, locked for the rest of the transaction; undefined if not theirs. */
export async function lockInvitationOf(
  trx: Trx,
  userId: string,
  id: string,
): Promise<InvitationRow | undefined> {
  const locked = await trx
    .selectFrom('invitations')
    .select('id')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .forUpdate()
    .executeTakeFirst();
  if (!locked) return undefined;
  return (await selectInvitations(trx)
    .where('invitations.id', '=', id)
    .executeTakeFirstOrThrow()) as InvitationRow;
}

export async function answerInvitation(
  trx: Trx,
  id: string,
  answer: { accepted_at: Date } | { declined_at: Date },
): Promise<InvitationRow> {
  await trx.updateTable('invitations').set(answer).where('id', '=', id).execute();
  return (await selectInvitations(trx)
    .where('invitations.id', '=', id)
    .executeTakeFirstOrThrow()) as InvitationRow;
}

/** Names of areas and organisations by id, for a person's own page (GET /me). */
export async function areasNamed(db: DbOrTrx, ids: string[]) {
  if (!ids.length) return [];
  return db.selectFrom('areas').select(['id', 'name']).where('id', 'in', ids).orderBy('name').execute();
}

export async function organisationsNamed(db: DbOrTrx, ids: string[]) {
  if (!ids.length) return [];
  return db
    .selectFrom('organisations')
    .select(['id', 'name', 'area_id as areaId', 'stream_id as streamId'])
    .where('id', 'in', ids)
    .orderBy('name')
    .execute();
}
