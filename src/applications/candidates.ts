import type { Db } from '../db/index.ts';
import { appraisersAssignableBy, isManager } from '../domain/access.ts';
import { forbidden } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { loadApplication } from './service.ts';

export type AppraiserCandidate = {
  userId: string;
  name: string;
  livedExperience: boolean;
  localGroup: boolean;
  cosStaff: boolean;
  homeAreaName: string | null;
};

/**
 * The appraisers a lead or an admin could add to an application's panel now, with their profiles: those
 * within the caller's reach (SPEC §3), not on the panel, not members of the applying organisation, and
 * with no declared conflict with it. A list to choose from only: ASSIGN_APPRAISER's guards decide.
 */
export async function appraiserCandidates(
  db: Db,
  p: Principal,
  applicationId: string,
  limit = 200,
): Promise<AppraiserCandidate[]> {
  const loaded = await loadApplication(db, p, applicationId);
  if (!isManager(loaded.relations)) throw forbidden('Only the local lead or an admin forms the panel');
  const organisationId = loaded.row.organisation_id;
  const panel = loaded.snapshot.context.panel;
  const rows = await db
    .selectFrom('users')
    .leftJoin('appraiser_profiles', 'appraiser_profiles.user_id', 'users.id')
    .leftJoin('areas', 'areas.id', 'appraiser_profiles.home_area_id')
    .select([
      'users.id',
      'users.name',
      'appraiser_profiles.lived_experience',
      'appraiser_profiles.local_group',
      'appraiser_profiles.cos_staff',
      'areas.name as home_area_name',
    ])
    .where((eb) =>
      eb.and([
        eb.exists(
          eb
            .selectFrom('grants')
            .select('grants.id')
            .whereRef('grants.user_id', '=', 'users.id')
            .where('grants.role', '=', 'appraiser'),
        ),
        eb.not(
          eb.exists(
            eb
              .selectFrom('grants')
              .select('grants.id')
              .whereRef('grants.user_id', '=', 'users.id')
              .where('grants.organisation_id', '=', organisationId),
          ),
        ),
        eb.not(
          eb.exists(
            eb
              .selectFrom('conflicts')
              .select('conflicts.user_id')
              .whereRef('conflicts.user_id', '=', 'users.id')
              .where('conflicts.organisation_id', '=', organisationId),
          ),
        ),
        ...(panel.length ? [eb('users.id', 'not in', panel)] : []),
      ]),
    )
    .where(appraisersAssignableBy(p))
    .orderBy('users.name')
    .orderBy('users.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    userId: r.id,
    name: r.name,
    livedExperience: Boolean(r.lived_experience),
    localGroup: Boolean(r.local_group),
    cosStaff: Boolean(r.cos_staff),
    homeAreaName: r.home_area_name ?? null,
  }));
}
