import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Principal } from './auth.ts';
import { forbidden, notFound } from './problem.ts';

/**
 * The scope rules of SPEC §3, in one place. A resource outside the caller's scope answers 404
 * (its existence is not revealed); inside scope but not permitted for the role, 403.
 */

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

export function assertAdmin(p: Principal) {
  if (!p.isAdmin) throw forbidden('Only an admin may do this');
}

export function assertLeadOrAdmin(p: Principal) {
  if (!p.isAdmin && p.leadAreaIds.length === 0) throw forbidden('Only a local lead or an admin may do this');
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
