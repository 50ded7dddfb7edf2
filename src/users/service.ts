import type { Db, DbOrTrx } from '../db/index.ts';
import {
  assertLeadOrAdmin,
  assertMayIssueTokenFor,
  defaultHomeAreaFor,
  grantsDirectly,
  managesArea,
  mayGrantRole,
  usersInScope,
  userVisibility,
  userWithinReach,
} from '../domain/access.ts';
import { conflict, forbidden, notFound, validationFailed } from '../domain/errors.ts';
import { DAY_MS, isoOrNull as iso } from '../domain/iso.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import {
  type Invite,
  invitePerson,
  type OfferedGrant,
  sendOffer,
  userInScopeByEmail,
} from './invitations.ts';
import * as repo from './repository.ts';
import type { CreateUserInput, GrantInput, InvitationView, UserView } from './schemas.ts';
import { newToken } from './tokens.ts';

/** A user as `viewer` may see them (src/domain/access.ts decides what: `userVisibility`); null: everything. */
export function toUserView(row: repo.UserRow, viewer: Principal | null): UserView {
  const visible = userVisibility(viewer, row.id);
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    createdAt: iso(row.created_at) as string,
    grants: row.grants.filter(visible.grant).map((g) => ({
      role: g.role,
      ...(g.area_id ? { areaId: g.area_id } : {}),
      ...(g.organisation_id ? { organisationId: g.organisation_id } : {}),
    })),
    appraiserProfile:
      row.profile && visible.profile
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

/** One user as the caller may see them (404 out of scope). */
export async function getUser(db: Db, p: Principal, id: string): Promise<UserView> {
  return toUserView(await getVisibleUser(db, p, id), p);
}

/**
 * Who may see and revoke a user's tokens: admins, the person themself, and a lead when all of that
 * user's reach lies within the lead's areas (`userWithinReach`). Revoking only ever removes access; a
 * lead never issues one (`assertMayIssueTokenFor`), nor revokes the token of someone who also works
 * elsewhere.
 */
async function assertCanManage(db: DbOrTrx, p: Principal, target: repo.UserRow) {
  const reach = {
    id: target.id,
    grants: target.grants,
    homeAreaId: target.profile?.home_area_id ?? null,
    onPanelOutside: false,
  };
  let within = userWithinReach(p, reach);
  // A panel seat outside the lead's areas is read only when it decides the answer (an appraiser the
  // lead would otherwise manage): then the caller is a lead, so their areas are not empty.
  if (within && !userWithinReach(p, { ...reach, onPanelOutside: true }))
    within = !(await repo.onPanelOutside(db, target.id, p.leadAreaIds));
  if (!within) throw forbidden('You may not manage this user: their grants reach beyond your areas');
}

/** Checks that the caller may hand out these grants, and that what they point at exists. */
async function checkGrants(
  db: DbOrTrx,
  p: Principal,
  grants: GrantInput[],
  homeAreaId: string | null | undefined,
) {
  assertLeadOrAdmin(p, 'Only an admin or a local lead may create users');
  const withheld = grants.find((g) => !mayGrantRole(p, g.role));
  if (withheld) throw forbidden(`A local lead may not grant the ${withheld.role} role`);
  const areaIds = [
    ...grants.flatMap((g) => (g.role === 'lead' ? [g.areaId] : [])),
    ...(homeAreaId ? [homeAreaId] : []),
  ];
  const foundAreas = await repo.areasExist(db, areaIds);
  const missingArea = areaIds.find((id) => !foundAreas.has(id));
  if (missingArea) throw validationFailed(`No such area: ${missingArea}`);
  if (homeAreaId && !managesArea(p, homeAreaId)) {
    throw forbidden("An appraiser's home area must be one of your areas");
  }
  const orgIds = grants.flatMap((g) => (g.role === 'applicant' ? [g.organisationId] : []));
  const orgAreas = await repo.organisationAreas(db, orgIds);
  for (const id of orgIds) {
    const area = orgAreas.get(id);
    // Out of a lead's scope reads exactly like missing: existence is not revealed.
    if (!area || !managesArea(p, area)) throw validationFailed(`No such organisation: ${id}`);
  }
}

/** The home area a new appraiser gets, after the input's own checks. */
async function checkUserInput(db: DbOrTrx, p: Principal, input: CreateUserInput) {
  const isAppraiser = input.grants.some((g) => g.role === 'appraiser');
  if (input.appraiserProfile && !isAppraiser) {
    throw validationFailed('appraiserProfile is only for users with the appraiser role');
  }
  // A lead's new appraiser belongs to the lead's area unless they say which of theirs.
  const homeAreaId = input.appraiserProfile?.homeAreaId ?? (isAppraiser ? defaultHomeAreaFor(p) : null);
  await checkGrants(db, p, input.grants, homeAreaId);
  return { isAppraiser, homeAreaId };
}

/** The user with their grants, at once: for admins (and the CLI, which acts as one). */
export async function createUser(db: Db, p: Principal, input: CreateUserInput): Promise<UserView> {
  if (!grantsDirectly(p)) throw forbidden('Only an admin creates users with grants directly');
  const { isAppraiser, homeAreaId } = await checkUserInput(db, p, input);
  const id = await db.transaction().execute(async (trx) => {
    const userId = await repo.insertUserIfNew(trx, { email: input.email, name: input.name });
    if (!userId) throw conflict(`A user with email ${input.email} already exists`);
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

/**
 * `POST /users`. An admin creates the user with their grants, and they are e-mailed an invitation to
 * sign in (SPEC §10). A lead's grants are offered: unless the address belongs to someone already in the
 * lead's scope (409, as they can see that person anyway), the answer is an invitation, the same for a
 * new address as for an account elsewhere (SPEC §3), and so is the e-mail the person gets.
 */
export async function addUser(
  db: Db,
  p: Principal,
  input: CreateUserInput,
  invite: Invite,
): Promise<{ user: UserView } | { invitation: InvitationView }> {
  if (grantsDirectly(p)) {
    const user = await createUser(db, p, input);
    await invite.invite(db, user.id, p);
    return { user };
  }
  const { homeAreaId } = await checkUserInput(db, p, input);
  if (input.grants.length === 0)
    throw validationFailed('Offer at least one grant: applicant of one of your organisations, or appraiser');
  // checkGrants has refused the roles a lead may not give.
  const offered = input.grants.flatMap((g): OfferedGrant[] => {
    if (g.role === 'applicant') return [{ role: 'applicant', organisationId: g.organisationId }];
    if (g.role !== 'appraiser') return [];
    const profile = input.appraiserProfile;
    return [
      {
        role: 'appraiser',
        appraiserProfile: {
          livedExperience: profile?.livedExperience ?? false,
          localGroup: profile?.localGroup ?? false,
          cosStaff: profile?.cosStaff ?? false,
          homeAreaId,
        },
      },
    ];
  });
  const made = await db.transaction().execute(async (trx) => {
    if (await userInScopeByEmail(trx, p, input.email))
      throw conflict(`A user with email ${input.email} already exists`);
    return invitePerson(trx, p, input, offered);
  });
  await sendOffer(db, invite, p, made);
  return { invitation: made.invitation };
}

export async function listUsers(
  db: Db,
  p: Principal,
  q: repo.UserFilters & { sort?: string; limit: number; cursor?: string },
) {
  const sort = parseSort(q.sort, repo.USER_SORT_COLUMNS, 'createdAt');
  const page = await keysetPage(repo.usersMatching(db, usersInScope(p), q), {
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
  const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * DAY_MS) : null;
  const row = await repo.insertToken(db, {
    user_id: userId,
    token_hash: hash,
    created_by: issuer?.userId ?? null,
    expires_at: expiresAt,
  });
  return { id: row.id, token, expiresAt: iso(row.expires_at) };
}

/** `POST /users/{id}/tokens`: out of scope 404; anyone but an admin or the person themself 403. */
export async function issueTokenFor(db: Db, p: Principal, userId: string, expiresInDays?: number) {
  const target = await getVisibleUser(db, p, userId);
  assertMayIssueTokenFor(p, target.id);
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
