import type { Db, DbOrTrx } from '../db/index.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import { toUserView } from './service.ts';

/** What callers see of themselves (`GET /me`): the reads it needs beyond the user row, then the service. */

async function areasNamed(db: DbOrTrx, ids: string[]) {
  if (!ids.length) return [];
  return db.selectFrom('areas').select(['id', 'name']).where('id', 'in', ids).orderBy('name').execute();
}

async function organisationsNamed(db: DbOrTrx, ids: string[]) {
  if (!ids.length) return [];
  return db
    .selectFrom('organisations')
    .select(['id', 'name', 'area_id as areaId', 'stream_id as streamId'])
    .where('id', 'in', ids)
    .orderBy('name')
    .execute();
}

/** The caller as they see themself, with the areas they lead and the organisations they belong to. */
export async function describeCaller(db: Db, p: Principal) {
  const row = await repo.findUser(db, p.userId);
  const areas = await areasNamed(db, p.leadAreaIds);
  const organisations = await organisationsNamed(db, p.memberOrganisationIds);
  return { ...toUserView(row as repo.UserRow, p), areas, organisations };
}
