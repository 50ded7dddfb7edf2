import type { Db, DbOrTrx } from '../db/index.ts';
import { usersInScope } from '../domain/access.ts';
import { DomainError, forbidden, notFound, validationFailed } from '../domain/errors.ts';
import { isoOrNull as iso } from '../domain/iso.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { CreateUserInput, GrantInput, UserView } from './schemas.ts';
import { newToken } from './tokens.ts';

/**
 * What a viewer may see of a user. Admins and the person see everything. A lead sees the grants that
 * fall within their areas and the appraiser profile (lived experience included: SPEC §3). Anyone else
 * (e.g. a fellow member of an organisation) sees the person and the grants they share, nothing more.
 */
export function toUserView(row: repo.UserRow, viewer: Principal | null): UserView {
  const full = viewer === null || viewer.isAdmin || viewer.userId === row.id;
  const lead = !full && viewer !== null && viewer.leadAreaIds.length > 0;
  const inViewersScope = (g: repo.UserRow['grants'][number]) => {
    if (full || viewer === null) return true;
    if (g.role === 'applicant') {
      return (
        viewer.memberOrganisationIds.includes(g.organisation_id as string) ||
        viewer.leadAreaIds.includes(g.organisation_area_id as string)
      );
    }
    if (g.role === 'lead') return viewer.leadAreaIds.includes(g.area_id as string);
    return lead && g.role === 'appraiser';
  };
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    createdAt: iso(row.created_at) as string,
    grants: row.grants.filter(inViewersScope).map((g) => ({
      role: g.role,
      ...(g.area_id ? { areaId: g.area_id } : {}),
      ...(g.organisation_id ? { organisationId: g.organisation_id } : {}),
    })),
    appraiserProfile:
      row.profile && (full || lead)
        ? {
            livedExperience: row.profile.lived_experience,
            localGroup: row.profile.local_group,
            cosStaff: row.profile.cos_staff,
            homeAreaId: row.profile.home_area_id,
          }
        : null,
  };
}

/** Loads a user the caller may see, or answers 404. */
export async function getVisibleUser(db: DbOrTrx, p: Principal, id: string): Promise<repo.UserRow> {
  const row = await repo.findUser(db, id, usersInScope(p));
  if (!row) throw notFound('user');
  return row;
}

/**
 * Admins manage everyone, and people their own tokens. A lead manages a user only when all of that
 * user's reach lies within the lead's areas: no admin or lead grant, every organisation in the lead's
 * areas, an appraiser's home area theirs and no panel seat elsewhere. Otherwise a token the lead
 * issued would open another area's applications.
 */
async function assertCanManage(db: DbOrTrx, p: Principal, target: repo.UserRow) {
  if (p.isAdmin || p.userId === target.id) return;
  const areas = p.leadAreaIds;
  const outside =
    areas.length === 0 ||
    target.grants.some(
      (g) =>
        g.role === 'admin' ||
        g.role === 'lead' ||
        (g.role === 'applicant' && !areas.includes(g.organisation_area_id as string)) ||
        (g.role === 'appraiser' && !areas.includes(target.profile?.home_area_id as string)),
    ) ||
    (target.grants.some((g) => g.role === 'appraiser') && (await repo.onPanelOutside(db, target.id, areas)));
  if (outside) throw forbidden('You may not manage this user: their grants reach beyond your areas');
}

/** Checks that the caller may hand out these grants, and that what they point at exists. */
async function checkGrants(
  db: DbOrTrx,
  p: Principal,
  grants: GrantInput[],
  homeAreaId: string | null | undefined,
) {
  if (!p.isAdmin) {
    if (p.leadAreaIds.length === 0) throw forbidden('Only an admin or a local lead may create users');
    const privileged = grants.find((g) => g.role === 'admin' || g.role === 'lead');
    if (privileged) throw forbidden(`A local lead may not grant the ${privileged.role} role`);
  }
  const areaIds = [
    ...grants.flatMap((g) => (g.role === 'lead' ? [g.areaId] : [])),
    ...(homeAreaId ? [homeAreaId] : []),
  ];
  const foundAreas = await repo.areasExist(db, areaIds);
  const missingArea = areaIds.find((id) => !foundAreas.has(id));
  if (missingArea) throw validationFailed(`No such area: ${missingArea}`);
  if (!p.isAdmin && homeAreaId && !p.leadAreaIds.includes(homeAreaId)) {
    throw forbidden("An appraiser's home area must be one of your areas");
  }
  const orgIds = grants.flatMap((g) => (g.role === 'applicant' ? [g.organisationId] : []));
  const orgAreas = await repo.organisationAreas(db, orgIds);
  for (const id of orgIds) {
    const area = orgAreas.get(id);
    // Out of a lead's scope reads exactly like missing: existence is not revealed.
    if (!area || (!p.isAdmin && !p.leadAreaIds.includes(area)))
      throw validationFailed(`No such organisation: ${id}`);
  }
}

export async function createUser(db: Db, p: Principal, input: CreateUserInput): Promise<UserView> {
  const isAppraiser = input.grants.some((g) => g.role === 'appraiser');
  if (input.appraiserProfile && !isAppraiser) {
    throw validationFailed('appraiserProfile is only for users with the appraiser role');
  }
  // A lead's new appraiser belongs to the lead's area unless they say which of theirs.
  const homeAreaId =
    input.appraiserProfile?.homeAreaId ?? (isAppraiser && !p.isAdmin ? (p.leadAreaIds[0] ?? null) : null);
  await checkGrants(db, p, input.grants, homeAreaId);
  const id = await db.transaction().execute(async (trx) => {
    if (await repo.findUserIdByEmail(trx, input.email)) {
      throw new DomainError('conflict', `A user with email ${input.email} already exists`);
    }
    const userId = await repo.insertUser(trx, { email: input.email, name: input.name });
    for (const g of input.grants) {
      await repo.insertGrant(trx, {
        user_id: userId,
        role: g.role,
        area_id: g.role === 'lead' ? g.areaId : null,
        organisation_id: g.role === 'applicant' ? g.organisationId : null,
      });
    }
    if (isAppraiser) {
      const profile = input.appraiserProfile;
      await repo.upsertAppraiserProfile(trx, {
        user_id: userId,
        lived_experience: profile?.livedExperience ?? false,
        local_group: profile?.localGroup ?? false,
        cos_staff: profile?.cosStaff ?? false,
        home_area_id: homeAreaId,
      });
    }
    return userId;
  });
  const row = await repo.findUser(db, id);
  return toUserView(row as repo.UserRow, p);
}

export async function listUsers(
  db: Db,
  p: Principal,
  q: {
    role?: string;
    organisationId?: string;
    areaId?: string;
    email?: string;
    sort?: string;
    limit: number;
    cursor?: string;
  },
) {
  const sort = parseSort(
    q.sort,
    { createdAt: 'users.created_at', email: 'users.email', name: 'users.name' },
    'createdAt',
  );
  let qb = repo.selectUsers(db).where(usersInScope(p));
  if (q.role) {
    const role = q.role as 'admin';
    qb = qb.where((eb) =>
      eb.exists(
        eb
          .selectFrom('grants')
          .select('grants.id')
          .whereRef('grants.user_id', '=', 'users.id')
          .where('grants.role', '=', role),
      ),
    );
  }
  if (q.organisationId) {
    const orgId = q.organisationId;
    qb = qb.where((eb) =>
      eb.exists(
        eb
          .selectFrom('grants')
          .select('grants.id')
          .whereRef('grants.user_id', '=', 'users.id')
          .where('grants.organisation_id', '=', orgId),
      ),
    );
  }
  if (q.areaId) {
    const areaId = q.areaId;
    qb = qb.where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom('grants')
            .select('grants.id')
            .whereRef('grants.user_id', '=', 'users.id')
            .where('grants.area_id', '=', areaId),
        ),
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
  if (q.email) qb = qb.where((eb) => eb(eb.fn('lower', ['users.email']), '=', q.email!.toLowerCase()));
  const page = await keysetPage(qb, {
    idColumn: 'users.id',
    limit: q.limit,
    cursor: q.cursor,
    sort,
  });
  return { items: (page.items as repo.UserRow[]).map((r) => toUserView(r, p)), nextCursor: page.nextCursor };
}

/** Issues a token for a user; the token is returned once and only its hash is kept. */
export async function issueToken(
  db: DbOrTrx,
  issuer: { userId: string } | null,
  userId: string,
  expiresInDays?: number,
) {
  const { token, hash } = newToken();
  const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null;
  const row = await repo.insertToken(db, {
    user_id: userId,
    token_hash: hash,
    created_by: issuer?.userId ?? null,
    expires_at: expiresAt,
  });
  return { id: row.id, token, expiresAt: iso(row.expires_at) };
}

export async function issueTokenFor(db: Db, p: Principal, userId: string, expiresInDays?: number) {
  const target = await getVisibleUser(db, p, userId);
  await assertCanManage(db, p, target);
  return issueToken(db, p, target.id, expiresInDays);
}

export async function listTokensOf(db: Db, p: Principal, userId: string) {
  const target = await getVisibleUser(db, p, userId);
  await assertCanManage(db, p, target);
  const rows = await repo.listTokens(db, target.id);
  return rows.map((t) => ({
    id: t.id,
    createdAt: iso(t.created_at) as string,
    expiresAt: iso(t.expires_at),
    revokedAt: iso(t.revoked_at),
  }));
}

export async function revokeTokenById(db: Db, p: Principal, tokenId: string) {
  const token = await repo.findToken(db, tokenId);
  if (!token) throw notFound('token');
  const owner = await repo.findUser(db, token.user_id, usersInScope(p));
  if (!owner) throw notFound('token');
  await assertCanManage(db, p, owner);
  await repo.revokeToken(db, token.id);
}
