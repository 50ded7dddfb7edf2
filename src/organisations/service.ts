import type { Db } from '../db/index.ts';
import {
  assertAdmin,
  assertCanManageOrganisation,
  assertLeadOrAdmin,
  assertMemberOf,
  assertOrganisationVisible,
  grantsDirectly,
  managesArea,
  organisationsInScope,
  usersInScope,
} from '../domain/access.ts';
import { forbidden, validationFailed } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import {
  type Invite,
  invitePerson,
  type OfferMade,
  sendOffer,
  userInScopeByEmail,
} from '../users/invitations.ts';
import * as users from '../users/repository.ts';
import type { InvitationView, UserView } from '../users/schemas.ts';
import { toUserView } from '../users/service.ts';
import * as repo from './repository.ts';

export function toOrganisationView(o: repo.OrganisationRow) {
  return {
    id: o.id,
    name: o.name,
    streamId: o.stream_id,
    areaId: o.area_id,
    phase: o.phase,
    urn: o.urn,
    website: o.website,
    pledge: o.pledge
      ? {
          signatoryName: o.pledge.signatory_name,
          signatoryRole: o.pledge.signatory_role,
          signedBy: o.pledge.signed_by,
          signedAt: iso(o.pledge.signed_at),
        }
      : null,
    createdAt: iso(o.created_at),
    updatedAt: iso(o.updated_at),
  };
}

const ref = (o: repo.OrganisationRow) => ({ id: o.id, areaId: o.area_id });

/** Loads an organisation the caller may see, or answers 404. */
export async function getVisibleOrganisation(db: Db, p: Principal, id: string) {
  const org = await repo.findOrganisation(db, id);
  assertOrganisationVisible(p, org ? ref(org) : undefined);
  return org as repo.OrganisationRow;
}

/** Loads an organisation the caller may manage (admin, area lead): 404 out of scope, 403 for members. */
async function getManageableOrganisation(db: Db, p: Principal, id: string) {
  const org = await repo.findOrganisation(db, id);
  assertCanManageOrganisation(p, org ? ref(org) : undefined);
  return org as repo.OrganisationRow;
}

/** The stream and the area must exist, and a lead places organisations only in their own areas. */
async function checkStreamAndArea(db: Db, p: Principal, streamId?: string, areaId?: string) {
  if (streamId && !(await repo.streamExists(db, streamId))) {
    throw validationFailed(`No such stream: ${streamId}`);
  }
  if (areaId) {
    if (!(await repo.areaExists(db, areaId))) throw validationFailed(`No such area: ${areaId}`);
    if (!managesArea(p, areaId)) throw forbidden('You can only place organisations in your own areas');
  }
}

export type OrganisationInput = {
  name: string;
  streamId: string;
  areaId: string;
  phase?: string | null;
  urn?: string | null;
  website?: string | null;
};

export async function createOrganisation(db: Db, p: Principal, b: OrganisationInput) {
  assertLeadOrAdmin(p, 'Only an admin or a local lead may register organisations');
  await checkStreamAndArea(db, p, b.streamId, b.areaId);
  const id = await repo.insertOrganisation(db, {
    name: b.name,
    stream_id: b.streamId,
    area_id: b.areaId,
    phase: b.phase ?? null,
    urn: b.urn ?? null,
    website: b.website ?? null,
  });
  return toOrganisationView((await repo.findOrganisation(db, id)) as repo.OrganisationRow);
}

export async function listOrganisations(
  db: Db,
  p: Principal,
  q: repo.OrganisationFilters & { sort?: string; limit: number; cursor?: string },
) {
  const sort = parseSort(q.sort, repo.ORGANISATION_SORT_COLUMNS, 'name');
  const page = await keysetPage(repo.organisationsMatching(db, organisationsInScope(p), q), {
    idColumn: 'organisations.id',
    limit: q.limit,
    cursor: q.cursor,
    sort: { column: sort.column, direction: sort.direction },
  });
  return {
    items: (page.items as repo.OrganisationRow[]).map(toOrganisationView),
    nextCursor: page.nextCursor,
  };
}

export async function getOrganisation(db: Db, p: Principal, id: string) {
  return toOrganisationView(await getVisibleOrganisation(db, p, id));
}

export async function updateOrganisation(db: Db, p: Principal, id: string, b: Partial<OrganisationInput>) {
  const org = await getManageableOrganisation(db, p, id);
  if (b.streamId && b.streamId !== org.stream_id)
    assertAdmin(p, 'Only an admin may move an organisation to another stream');
  await checkStreamAndArea(db, p, b.streamId, b.areaId);
  await repo.updateOrganisation(db, org.id, {
    ...(b.name !== undefined ? { name: b.name } : {}),
    ...(b.streamId !== undefined ? { stream_id: b.streamId } : {}),
    ...(b.areaId !== undefined ? { area_id: b.areaId } : {}),
    ...(b.phase !== undefined ? { phase: b.phase } : {}),
    ...(b.urn !== undefined ? { urn: b.urn } : {}),
    ...(b.website !== undefined ? { website: b.website } : {}),
  });
  return toOrganisationView((await repo.findOrganisation(db, org.id)) as repo.OrganisationRow);
}

/** The organisation's applicant members (the first 500, by name), as the caller may see each. */
export async function listMembers(db: Db, p: Principal, id: string) {
  const org = await getVisibleOrganisation(db, p, id);
  const rows = await users.membersOf(db, org.id, 500);
  return rows.map((r) => toUserView(r, p));
}

/**
 * Adds an applicant member: someone the caller may already act on (an admin: anyone, creating a new
 * address's account; a lead: a person in their scope) at once; anyone else a lead names by e-mail is
 * invited, with the same answer whether or not the address has an account (SPEC §3). A new account
 * and an offer are e-mailed an invitation (`invite`, SPEC §10), alike for a new address and an account
 * elsewhere.
 */
export async function addMember(
  db: Db,
  p: Principal,
  orgId: string,
  b: { userId: string } | { email: string; name: string },
  invite: Invite,
): Promise<{ member: UserView } | { invitation: InvitationView }> {
  const org = await getManageableOrganisation(db, p, orgId);
  const added = await db
    .transaction()
    .execute(async (trx): Promise<{ userId: string; created: boolean } | { offer: OfferMade }> => {
      let id: string | undefined;
      let created = false;
      if ('userId' in b) {
        id = (await users.findUser(trx, b.userId, usersInScope(p)))?.id;
        if (!id) throw validationFailed(`No such user: ${b.userId}`);
      } else if (grantsDirectly(p)) {
        id = await users.findUserIdByEmail(trx, b.email);
        if (!id) {
          id = await users.insertUserIfNew(trx, { email: b.email, name: b.name });
          created = Boolean(id);
          id ??= await users.findUserIdByEmail(trx, b.email);
        }
      } else {
        id = await userInScopeByEmail(trx, p, b.email);
        if (!id) {
          const offer = [{ role: 'applicant' as const, organisationId: org.id }];
          return { offer: await invitePerson(trx, p, b, offer) };
        }
      }
      await users.insertGrant(trx, { user_id: id as string, role: 'applicant', organisation_id: org.id });
      return { userId: id as string, created };
    });
  if ('offer' in added) {
    await sendOffer(db, invite, p, added.offer);
    return { invitation: added.offer.invitation };
  }
  if (added.created) await invite.invite(db, added.userId, p);
  return { member: toUserView((await users.findUser(db, added.userId)) as users.UserRow, p) };
}

export async function signPledge(
  db: Db,
  p: Principal,
  orgId: string,
  b: { signatoryName: string; signatoryRole: string },
) {
  const org = await getVisibleOrganisation(db, p, orgId);
  assertMemberOf(p, ref(org), 'Only a member of the organisation may sign its pledge');
  const row = await repo.upsertPledge(db, {
    organisation_id: org.id,
    signatory_name: b.signatoryName,
    signatory_role: b.signatoryRole,
    signed_by: p.userId,
  });
  return {
    signatoryName: row.signatory_name,
    signatoryRole: row.signatory_role,
    signedBy: row.signed_by,
    signedAt: iso(row.signed_at),
  };
}
