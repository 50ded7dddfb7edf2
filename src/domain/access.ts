import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { AnyMachineSnapshot } from 'xstate';
import {
  APPLICATION_FINAL_STATES,
  type ApplicationContext,
  acceptedEventTypes,
  type EventRole,
  stateString,
  statusOf,
} from '../../workflows/index.ts';
import type { Database, Role } from '../db/schema.ts';
import type { Loaded, WorkflowDefinition } from '../workflow/types.ts';
import { forbidden, notFound } from './errors.ts';
import type { Principal, WorkflowActor } from './principal.ts';

/**
 * What an actor may see and do (SPEC §3), decided here and nowhere else: the SQL filters every list
 * uses, the assertions every read and action uses, the caller's relations to an application or an
 * award, and the events those relations allow. A resource outside the caller's scope is not found
 * (its existence is not revealed); inside scope but not permitted for the role, forbidden.
 */

export type Relations = Set<EventRole>;

// ——— roles ———

export const isLeadOrAdmin = (p: Principal) => p.isAdmin || p.leadAreaIds.length > 0;

/** Admins manage every area; a lead the areas of their grants. */
export const managesArea = (p: Principal, areaId: string) => p.isAdmin || p.leadAreaIds.includes(areaId);

export function assertAdmin(p: Principal, detail = 'Only an admin may do this') {
  if (!p.isAdmin) throw forbidden(detail);
}

export function assertLeadOrAdmin(p: Principal, detail = 'Only a local lead or an admin may do this') {
  if (!isLeadOrAdmin(p)) throw forbidden(detail);
}

// ——— organisations ———

export type OrganisationRef = { id: string; areaId: string };

/** How the caller relates to an organisation. */
export function organisationRelation(p: Principal, org: OrganisationRef): 'admin' | 'lead' | 'member' | null {
  if (p.isAdmin) return 'admin';
  if (p.leadAreaIds.includes(org.areaId)) return 'lead';
  if (p.memberOrganisationIds.includes(org.id)) return 'member';
  return null;
}

export function assertOrganisationVisible(p: Principal, org: OrganisationRef | undefined): asserts org {
  if (!org || !organisationRelation(p, org)) throw notFound('organisation');
}

/** Admins and the area's lead manage an organisation; its members only read it. */
export function assertCanManageOrganisation(p: Principal, org: OrganisationRef | undefined): asserts org {
  assertOrganisationVisible(p, org);
  const relation = organisationRelation(p, org);
  if (relation !== 'admin' && relation !== 'lead')
    throw forbidden('Only the area lead or an admin may do this');
}

/** Whether the caller is one of the organisation's own applicant members (who act in its name). */
export const isMemberOfOrganisation = (p: Principal, organisationId: string) =>
  p.memberOrganisationIds.includes(organisationId);

/** Only an organisation's own applicant members act in its name (e.g. sign its pledge). */
export function assertMemberOf(p: Principal, org: OrganisationRef, detail: string) {
  if (!isMemberOfOrganisation(p, org.id)) throw forbidden(detail);
}

/** SQL form of organisation visibility, for lists. */
export function organisationsInScope(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'organisations'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    const visible: Expression<SqlBool>[] = [];
    if (p.leadAreaIds.length) visible.push(eb('organisations.area_id', 'in', p.leadAreaIds));
    if (p.memberOrganisationIds.length) visible.push(eb('organisations.id', 'in', p.memberOrganisationIds));
    return visible.length ? eb.or(visible) : sql<SqlBool>`false`;
  };
}

// ——— users ———

/**
 * Which users a caller may see: admins all; everyone themself; a lead, the applicants of
 * organisations in their areas and the appraisers whose home area is one of theirs.
 */
export function usersInScope(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'users'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    const visible: Expression<SqlBool>[] = [eb('users.id', '=', p.userId)];
    if (p.leadAreaIds.length) {
      visible.push(
        eb.exists(
          eb
            .selectFrom('grants as g')
            .innerJoin('organisations as o', 'o.id', 'g.organisation_id')
            .whereRef('g.user_id', '=', 'users.id')
            .where('o.area_id', 'in', p.leadAreaIds)
            .select(sql`1`.as('one')),
        ),
        eb.exists(
          eb
            .selectFrom('appraiser_profiles as ap')
            .whereRef('ap.user_id', '=', 'users.id')
            .where('ap.home_area_id', 'in', p.leadAreaIds)
            .select(sql`1`.as('one')),
        ),
      );
    }
    return eb.or(visible);
  };
}

type UserGrantRef = {
  role: string;
  area_id: string | null;
  organisation_id: string | null;
  organisation_area_id: string | null;
};

/**
 * What a viewer may see of another user. Admins and the person see everything. A lead sees the grants
 * that fall within their areas and the appraiser profile (lived experience included). Anyone else
 * (e.g. a fellow member of an organisation) sees the person and the grants they share, nothing more.
 */
export function userVisibility(viewer: Principal | null, userId: string) {
  const full = viewer === null || viewer.isAdmin || viewer.userId === userId;
  const lead = !full && viewer !== null && viewer.leadAreaIds.length > 0;
  return {
    profile: full || lead,
    grant(g: UserGrantRef): boolean {
      if (full || viewer === null) return true;
      if (g.role === 'applicant') {
        return (
          viewer.memberOrganisationIds.includes(g.organisation_id as string) ||
          viewer.leadAreaIds.includes(g.organisation_area_id as string)
        );
      }
      if (g.role === 'lead') return viewer.leadAreaIds.includes(g.area_id as string);
      return lead && g.role === 'appraiser';
    },
  };
}

/**
 * The home area of a new appraiser when none is given: a lead's (their first area), so the lead can
 * manage the person they created; none for an admin's (the national pool).
 */
export const defaultHomeAreaFor = (p: Principal): string | null =>
  p.isAdmin ? null : (p.leadAreaIds[0] ?? null);

/** Admins grant every role; a lead only the appraiser and applicant roles, never admin or lead. */
export const mayGrantRole = (p: Principal, role: Role) =>
  p.isAdmin || role === 'appraiser' || role === 'applicant';

/**
 * Reach never grows behind someone's back (SPEC §3): admins give grants at once; what a lead offers
 * anyone outside their scope (a new address, or an account elsewhere) waits for the person to accept.
 */
export const grantsDirectly = (p: Principal) => p.isAdmin;

/**
 * Whether `p` may offer this role in this area (an applicant grant: its organisation's area; an
 * appraiser: their home area, null for the national pool). Checked again when an invitation is
 * accepted, so an offer outlives neither its sender's grants nor their areas.
 */
export function mayOffer(p: Principal, role: Role, areaId: string | null): boolean {
  if (!mayGrantRole(p, role)) return false;
  if (areaId === null) return p.isAdmin;
  return managesArea(p, areaId);
}

/**
 * A credential is personal (SPEC §5): only an admin, or the user for themself, issues a token. A lead
 * never holds someone else's, so nothing a lead holds can reach further when that person's grants grow.
 */
export function assertMayIssueTokenFor(p: Principal, holderId: string) {
  if (!p.isAdmin && p.userId !== holderId)
    throw forbidden('Only an admin, or the person themself, may issue their API token');
}

/**
 * Whether all of a user's reach lies within a lead's areas: no admin or lead grant, every organisation
 * in the lead's areas, an appraiser's home area theirs, and (`onPanelOutside`, read by the caller) no
 * panel seat elsewhere. Admins manage everyone, and people themselves.
 */
export function userWithinReach(
  p: Principal,
  target: { id: string; grants: UserGrantRef[]; homeAreaId: string | null; onPanelOutside: boolean },
): boolean {
  if (p.isAdmin || p.userId === target.id) return true;
  const areas = p.leadAreaIds;
  if (areas.length === 0) return false;
  return !(
    target.grants.some(
      (g) =>
        g.role === 'admin' ||
        g.role === 'lead' ||
        (g.role === 'applicant' && !areas.includes(g.organisation_area_id as string)) ||
        (g.role === 'appraiser' && !areas.includes(target.homeAreaId as string)),
    ) ||
    (target.grants.some((g) => g.role === 'appraiser') && target.onPanelOutside)
  );
}

/**
 * Whose appraisal an assigner may add to a panel (SPEC §3): an admin anyone's; a lead an appraiser
 * whose home area is one of theirs, or who has none (the national pool).
 */
export function appraiserWithinAssignerReach(actor: WorkflowActor, homeAreaId: string | null): boolean {
  if (actor === 'system') return false;
  if (actor.isAdmin) return true;
  if (actor.leadAreaIds.length === 0) return false;
  return homeAreaId === null || actor.leadAreaIds.includes(homeAreaId);
}

/** SQL form of `appraiserWithinAssignerReach`, over a row's appraiser profile (none: the national pool). */
export function appraisersAssignableBy(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'appraiser_profiles'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    if (p.leadAreaIds.length === 0) return sql<SqlBool>`false`;
    return eb.or([
      eb('appraiser_profiles.home_area_id', 'is', null),
      eb('appraiser_profiles.home_area_id', 'in', p.leadAreaIds),
    ]);
  };
}

// ——— applications and awards ———

/**
 * The caller's relations to an application (SPEC §3): admin everywhere; the lead of its area; the
 * organisation's applicant members; an appraiser while on its panel. Awards have no panel.
 */
export function relationsTo(
  p: WorkflowActor,
  target: { organisation_id: string; area_id: string },
  panel: readonly string[] = [],
): Relations {
  const relations: Relations = new Set();
  if (p === 'system') {
    relations.add('system');
    return relations;
  }
  if (p.isAdmin) relations.add('admin');
  if (p.leadAreaIds.includes(target.area_id)) relations.add('lead');
  if (p.memberOrganisationIds.includes(target.organisation_id)) relations.add('applicant');
  if (panel.includes(p.userId)) relations.add('appraiser');
  return relations;
}

export const isManager = (relations: Relations) => relations.has('lead') || relations.has('admin');

/** Throws not-found when the caller has no relation at all to the resource. */
export function assertRelated(relations: Relations, what: string) {
  if (relations.size === 0) throw notFound(what);
}

/**
 * The review pages are the panel's own (SPEC §9): to anyone not on the application's panel now, its
 * lead, an admin and its school included, they are not found.
 */
export function assertOnPanel(relations: Relations) {
  if (!relations.has('appraiser')) throw notFound('application');
}

/**
 * The same person seen only as a panel member, for the list of what they review: the applications
 * list's own scope rule, without what their other grants (lead, member, admin) would add to it.
 */
export const asPanelMember = (p: Principal): Principal => ({
  ...p,
  isAdmin: false,
  leadAreaIds: [],
  memberOrganisationIds: [],
});

/** SQL form of application visibility (the same rule as `relationsTo`), for lists. */
export function applicationsInScope(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'applications' | 'organisations'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    const visible: Expression<SqlBool>[] = [];
    if (p.leadAreaIds.length) visible.push(eb('organisations.area_id', 'in', p.leadAreaIds));
    if (p.memberOrganisationIds.length)
      visible.push(eb('applications.organisation_id', 'in', p.memberOrganisationIds));
    if (p.isAppraiser)
      visible.push(sql<SqlBool>`applications.snapshot -> 'context' -> 'panel' ? ${p.userId}`);
    return visible.length ? eb.or(visible) : sql<SqlBool>`false`;
  };
}

/** SQL form of award visibility: the organisation's members, its area's lead, admins. */
export function awardsInScope(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'awards' | 'organisations'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    const visible: Expression<SqlBool>[] = [];
    if (p.leadAreaIds.length) visible.push(eb('organisations.area_id', 'in', p.leadAreaIds));
    if (p.memberOrganisationIds.length)
      visible.push(eb('awards.organisation_id', 'in', p.memberOrganisationIds));
    return visible.length ? eb.or(visible) : sql<SqlBool>`false`;
  };
}

/** The event types this caller could send in this state, whatever the guards say. */
export function eventsForCaller<S extends AnyMachineSnapshot, Row>(
  def: Pick<WorkflowDefinition<S, Row>, 'eventTypes' | 'eventRoles'>,
  loaded: Pick<Loaded<S, Row>, 'snapshot' | 'relations'>,
): string[] {
  const accepted = acceptedEventTypes(loaded.snapshot);
  return def.eventTypes.filter(
    (type) =>
      accepted.includes(type) &&
      def.eventRoles[type].some((role) => role !== 'system' && loaded.relations.has(role)),
  );
}

// ——— what a viewer is shown of an application's panel and evidence ———

/** An application's state and the parts of its context these rules read (a snapshot, now or past). */
export type PanelState = { value: unknown; context: Pick<ApplicationContext, 'panel'> };

/** Anyone related to the application who is neither its lead nor an admin, nor on its panel. */
const isApplicantOnly = (relations: Relations) =>
  relations.has('applicant') && !isManager(relations) && !relations.has('appraiser');

/** While the panel is being formed (or re-formed) it is the lead's working list, not yet the school's panel. */
const PANEL_FORMING_STATES: readonly string[] = ['draft', 'submitted', 'appraisal.panelForming'];

/**
 * Whether an applicant is shown the panel in this state: from the opening of reviews (START_REVIEW)
 * on, not while it is being formed or re-formed.
 */
const panelShownToApplicants = (state: { value: unknown }) =>
  !PANEL_FORMING_STATES.includes(stateString(state));

/**
 * The members of `shown`'s panel (now, or as it stood at an earlier instant) that a viewer may see
 * (SPEC §3: who declared a conflict, or why someone left, is never revealed). Leads and admins see the
 * panel as it was. Anyone else sees only those of it who are on the panel now (`currentPanel`): a
 * member who left, whatever the reason, is in no view of theirs, earlier or later, so comparing views
 * over time tells nothing, and a conflict cannot be told from the lead's unassignment. An applicant
 * sees nobody while the panel is being formed.
 */
export function visiblePanelMembers(
  relations: Relations,
  shown: PanelState,
  currentPanel: readonly string[],
): string[] {
  if (isManager(relations)) return [...shown.context.panel];
  if (isApplicantOnly(relations) && !panelShownToApplicants(shown)) return [];
  return shown.context.panel.filter((userId) => currentPanel.includes(userId));
}

/**
 * The people a viewer may not see named in the application's history: for leads and admins nobody;
 * for anyone else everybody ever assigned to the panel who is not on it now (and, for an applicant
 * while the panel is being formed, its members too). The viewer is never hidden from themself.
 */
export function panelPeopleHiddenFrom(
  relations: Relations,
  viewerId: string,
  current: PanelState,
  everAssigned: Iterable<string>,
): Set<string> {
  const hidden = new Set<string>();
  if (isManager(relations)) return hidden;
  const visible = new Set(visiblePanelMembers(relations, current, current.context.panel));
  for (const userId of everAssigned) if (!visible.has(userId) && userId !== viewerId) hidden.add(userId);
  return hidden;
}

/**
 * Whether the caller may read an application's evidence files: their list, metadata, content and
 * archive (SPEC §3). The organisation's members, the area's lead and admins always; an assigned
 * appraiser until the decision is final (awarded, notAwarded, withdrawn, lapsed). A decision asking for
 * further evidence is not final: the same panel reviews again after RESUBMIT, so it keeps the files
 * while the application awaits that evidence. Afterwards the appraiser keeps the summary (the
 * application view, with evidence counts) and their own review, not the files.
 */
export function mayReadEvidence(relations: Relations, state: { value: unknown }): boolean {
  if (relations.has('applicant') || isManager(relations) || relations.has('system')) return true;
  if (!relations.has('appraiser')) return false;
  return !(APPLICATION_FINAL_STATES as readonly string[]).includes(statusOf(state));
}

/** Forbidden (the application stays in scope) when the caller may not read its evidence files. */
export function assertMayReadEvidence(relations: Relations, state: { value: unknown }) {
  assertRelated(relations, 'application');
  if (!mayReadEvidence(relations, state))
    throw forbidden(
      'After the decision the panel keeps the application’s summary and its own reviews, no longer its evidence files',
    );
}

// ——— webhooks ———

/** Admins see every subscription; a lead those of their areas. */
export function webhookSubscriptionsInScope(p: Principal) {
  return (eb: ExpressionBuilder<Database, 'webhook_subscriptions'>): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    return p.leadAreaIds.length
      ? eb('webhook_subscriptions.area_id', 'in', p.leadAreaIds)
      : sql<SqlBool>`false`;
  };
}

/**
 * Whose events a caller may subscribe to: an admin, any area's or (null) every area's; a lead, one of
 * their own areas.
 */
export const maySubscribeToEventsOf = (p: Principal, areaId: string | null) =>
  areaId === null ? p.isAdmin : managesArea(p, areaId);
