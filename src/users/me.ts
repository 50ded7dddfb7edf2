import type { Db } from '../db/index.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import { toUserView } from './service.ts';

/** `GET /me`: the caller as they see themself, with the areas they lead and the organisations they belong to. */
export async function describeCaller(db: Db, p: Principal) {
  const row = await repo.findUser(db, p.userId);
  const areas = await repo.areasNamed(db, p.leadAreaIds);
  const organisations = await repo.organisationsNamed(db, p.memberOrganisationIds);
  return { ...toUserView(row as repo.UserRow, p), areas, organisations };
}
