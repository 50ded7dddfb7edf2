import type { Db, DbOrTrx, Trx } from '../db/index.ts';
import type { OfferedGrant } from '../db/schema.ts';
import { mayOffer, usersInScope } from '../domain/access.ts';
import { conflict, notFound } from '../domain/errors.ts';
import { DAY_MS, iso } from '../domain/iso.ts';
import { type Grant, type Principal, principalFromGrants } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { InvitationView } from './schemas.ts';
import { invalidateCachedPrincipals } from './tokens.ts';

/**
 * Invitations (SPEC §3): what a local lead offers someone outside their scope waits for that person to
 * accept, and the lead's answer is the same whether or not the address already had an account.
 */

export type { OfferedGrant };

/** What a lead offered someone, as their invitation e-mail words it. */
export type InvitationOffer = { organisations: string[]; appraiser: boolean; until: Date };

/**
 * How an invitation reaches its person: the sign-in domain's `invite` (src/signin), handed in by the
 * route from `app.signIn`. It e-mails a sign-in link worded as an invitation (to the service, or with
 * `offer` to what was offered, accepted after signing in), or, with no SMTP, writes it for the person
 * at the console. A failed delivery is its own to report: it never undoes the account or the offer.
 */
export type Invite = {
  invite(
    db: Db,
    userId: string,
    invitedBy: Pick<Principal, 'userId' | 'name'>,
    offer?: InvitationOffer,
  ): Promise<void>;
};

/** An offer just made: its view for the answer, and whom to e-mail (never in the answer). */
export type OfferMade = { invitation: InvitationView; userId: string };

/** How long an invitation can be accepted. */
export const INVITATION_VALID_DAYS = 30;

function statusOf(row: repo.InvitationRow, now: Date): InvitationView['status'] {
  if (row.accepted_at) return 'accepted';
  if (row.declined_at) return 'declined';
  return new Date(row.expires_at).getTime() <= now.getTime() ? 'expired' : 'pending';
}

async function toInvitationViews(db: DbOrTrx, rows: repo.InvitationRow[]): Promise<InvitationView[]> {
  const orgIds = [
    ...new Set(
      rows.flatMap((r) => r.grants.flatMap((g) => (g.role === 'applicant' ? [g.organisationId] : []))),
    ),
  ];
  const orgs = await repo.organisationsByIds(db, orgIds);
  const now = new Date();
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    name: r.name,
    grants: r.grants.map((g) =>
      g.role === 'applicant'
        ? { ...g, organisationName: orgs.get(g.organisationId)?.name ?? '' }
        : { role: g.role, appraiserProfile: { ...g.appraiserProfile } },
    ),
    invitedBy: r.invited_by ? { id: r.invited_by, name: r.invited_by_name ?? '' } : null,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    status: statusOf(r, now),
  }));
}

/**
 * The user behind an address when the caller may act on them directly: an account within the caller's
 * scope. Anyone else (a new address, or an account the caller may not see) is undefined, alike.
 */
export async function userInScopeByEmail(trx: Trx, p: Principal, email: string): Promise<string | undefined> {
  const id = await repo.findUserIdByEmail(trx, email);
  if (!id) return undefined;
  return (await repo.findUser(trx, id, usersInScope(p)))?.id;
}

/**
 * Offers grants to the person at this address. A new address gets its account at once, without
 * grants (an admin can issue it a token, and a sign-in finds it); an existing account is left as it
 * is. Nothing in the answer tells the two apart, and both are e-mailed alike, once the transaction has
 * committed (`sendOffer`).
 */
export async function invitePerson(
  trx: Trx,
  p: Principal,
  person: { email: string; name: string },
  grants: OfferedGrant[],
): Promise<OfferMade> {
  const email = person.email.toLowerCase();
  const userId =
    (await repo.findUserIdByEmail(trx, email)) ??
    (await repo.insertUserIfNew(trx, { email, name: person.name })) ??
    // Created meanwhile by a concurrent request.
    ((await repo.findUserIdByEmail(trx, email)) as string);
  const row = await repo.insertInvitation(trx, {
    user_id: userId,
    email,
    name: person.name,
    grants,
    invited_by: p.userId,
    expires_at: new Date(Date.now() + INVITATION_VALID_DAYS * DAY_MS),
  });
  const [view] = await toInvitationViews(trx, [row]);
  return { invitation: view, userId };
}

/**
 * E-mails the person an offer was made to, whether the address was new or had an account elsewhere
 * (SPEC §3: the same e-mail as the same answer). Call it after the offer's transaction has committed.
 */
export async function sendOffer(db: Db, invite: Invite, p: Principal, made: OfferMade): Promise<void> {
  const offer: InvitationOffer = {
    organisations: made.invitation.grants.flatMap((g) =>
      g.role === 'applicant' ? [g.organisationName] : [],
    ),
    appraiser: made.invitation.grants.some((g) => g.role === 'appraiser'),
    until: new Date(made.invitation.expiresAt),
  };
  await invite.invite(db, made.userId, p, offer);
}

/** The caller's own invitations, newest first. */
export async function listOwnInvitations(db: Db, p: Principal): Promise<InvitationView[]> {
  return toInvitationViews(db, await repo.invitationsOf(db, p.userId, 200));
}

/** Loads one of the caller's invitations, locked; someone else's answers 404 like a missing one. */
async function lockOwn(trx: Trx, p: Principal, id: string) {
  const row = await repo.lockInvitationOf(trx, p.userId, id);
  if (!row) throw notFound('invitation');
  return row;
}

/** The area each offer lies in: an applicant grant's organisation's, an appraiser's home area. */
async function offeredAreas(trx: Trx, grants: OfferedGrant[]) {
  const orgs = await repo.organisationsByIds(
    trx,
    grants.flatMap((g) => (g.role === 'applicant' ? [g.organisationId] : [])),
  );
  return grants.map((g) =>
    g.role === 'applicant'
      ? { grant: g, exists: orgs.has(g.organisationId), areaId: orgs.get(g.organisationId)?.areaId ?? null }
      : { grant: g, exists: true, areaId: g.appraiserProfile.homeAreaId },
  );
}

/** An offer stands only while its sender could still make it (they may have left the area since). */
async function assertStillOffered(trx: Trx, row: repo.InvitationRow) {
  const inviter = row.invited_by ? await repo.findUser(trx, row.invited_by) : undefined;
  const stale = () => conflict('This invitation no longer stands: ask for a new one');
  if (!inviter) throw stale();
  const grants: Grant[] = inviter.grants.map((g) => ({
    role: g.role,
    areaId: g.area_id,
    organisationId: g.organisation_id,
  }));
  const sender = principalFromGrants(inviter, '', grants);
  for (const offer of await offeredAreas(trx, row.grants)) {
    if (!offer.exists || !mayOffer(sender, offer.grant.role, offer.areaId)) throw stale();
  }
}

/** Accepts one of the caller's invitations: its grants apply at once, in one transaction. */
export async function acceptInvitation(db: Db, p: Principal, id: string): Promise<InvitationView> {
  const row = await db.transaction().execute(async (trx) => {
    const invitation = await lockOwn(trx, p, id);
    const status = statusOf(invitation, new Date());
    if (status === 'accepted') return invitation;
    if (status === 'declined') throw conflict('This invitation was declined');
    if (status === 'expired') throw conflict('This invitation has expired: ask for a new one');
    await assertStillOffered(trx, invitation);
    for (const g of invitation.grants) {
      if (g.role === 'applicant') {
        await repo.insertGrant(trx, {
          user_id: p.userId,
          role: 'applicant',
          organisation_id: g.organisationId,
        });
      } else {
        await repo.insertGrant(trx, { user_id: p.userId, role: 'appraiser' });
        const profile = g.appraiserProfile;
        await repo.upsertAppraiserProfile(trx, {
          user_id: p.userId,
          lived_experience: profile.livedExperience,
          local_group: profile.localGroup,
          cos_staff: profile.cosStaff,
          home_area_id: profile.homeAreaId,
        });
      }
    }
    return repo.answerInvitation(trx, invitation.id, { accepted_at: new Date() });
  });
  // Again after the commit: a principal cached meanwhile must not keep the grants of before.
  invalidateCachedPrincipals();
  return (await toInvitationViews(db, [row]))[0];
}

/** Declines one of the caller's invitations; nothing is granted. */
export async function declineInvitation(db: Db, p: Principal, id: string): Promise<InvitationView> {
  const row = await db.transaction().execute(async (trx) => {
    const invitation = await lockOwn(trx, p, id);
    if (invitation.accepted_at) throw conflict('This invitation was accepted');
    if (invitation.declined_at) return invitation;
    return repo.answerInvitation(trx, invitation.id, { declined_at: new Date() });
  });
  return (await toInvitationViews(db, [row]))[0];
}
