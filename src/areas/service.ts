import type { Db } from '../db/index.ts';
import { assertAdmin } from '../domain/access.ts';
import { conflict, notFound } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { AreaView, CreateAreaInput, PatchAreaInput } from './schemas.ts';

export function toAreaView(a: repo.AreaRow): AreaView {
  return {
    id: a.id,
    name: a.name,
    nation: a.nation,
    region: a.region,
    localAuthorities: a.local_authorities,
    leadOrganisation: a.lead_organisation,
    active: a.active,
    createdAt: iso(a.created_at),
    updatedAt: iso(a.updated_at),
  };
}

/** Runs a write that may give an area a name another area has: that is a conflict, not an error. */
async function withUniqueName<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (repo.isUniqueViolation(err)) throw conflict(`An area named "${name}" already exists`);
    throw err;
  }
}

/** Every user may list the areas. */
export async function listAreas(
  db: Db,
  q: {
    nation?: AreaView['nation'];
    active?: 'true' | 'false';
    sort?: string;
    limit: number;
    cursor?: string;
  },
) {
  const sort = parseSort(q.sort, repo.AREA_SORT_COLUMNS, 'name');
  const page = await repo.pageOfAreas(
    db,
    { nation: q.nation, active: q.active === undefined ? undefined : q.active === 'true' },
    { sort, limit: q.limit, cursor: q.cursor },
  );
  return { items: page.items.map(toAreaView), nextCursor: page.nextCursor };
}

export async function getArea(db: Db, id: string): Promise<AreaView> {
  const area = await repo.findArea(db, id);
  if (!area) throw notFound('area');
  return toAreaView(area);
}

export async function createArea(db: Db, p: Principal, b: CreateAreaInput): Promise<AreaView> {
  assertAdmin(p);
  const area = await withUniqueName(b.name, () =>
    repo.insertArea(db, {
      name: b.name,
      nation: b.nation,
      region: b.region ?? null,
      local_authorities: JSON.stringify(b.localAuthorities ?? []),
      lead_organisation: b.leadOrganisation ?? null,
      active: b.active,
    }),
  );
  return toAreaView(area);
}

/** Changes only the fields sent. */
export async function changeArea(db: Db, p: Principal, id: string, b: PatchAreaInput): Promise<AreaView> {
  assertAdmin(p);
  const area = await withUniqueName(b.name, () =>
    repo.updateArea(db, id, {
      ...(b.name !== undefined ? { name: b.name } : {}),
      ...(b.nation !== undefined ? { nation: b.nation } : {}),
      ...(b.region !== undefined ? { region: b.region } : {}),
      ...(b.localAuthorities !== undefined ? { local_authorities: JSON.stringify(b.localAuthorities) } : {}),
      ...(b.leadOrganisation !== undefined ? { lead_organisation: b.leadOrganisation } : {}),
      ...(b.active !== undefined ? { active: b.active } : {}),
      updated_at: new Date(),
    }),
  );
  if (!area) throw notFound('area');
  return toAreaView(area);
}
