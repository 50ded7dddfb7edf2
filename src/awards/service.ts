import type { AwardSnapshot } from '../../workflows/index.ts';
import { CURRENT_AWARD_STATES, isCurrentAward, isCurrentAwardState } from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import { awardsInScope, eventsForCaller, relationsTo } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { keysetPage, likePattern, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import { streamIdsNamed } from '../streams/repository.ts';
import { type AwardRow, awardWorkflow, selectAwards } from '../workflow/awards.ts';
import type { Loaded } from '../workflow/types.ts';

export function toAwardView(loaded: Loaded<AwardSnapshot, AwardRow>) {
  const a = loaded.row;
  const context = loaded.snapshot.context;
  return {
    id: a.id,
    organisationId: a.organisation_id,
    organisationName: a.organisation_name,
    streamId: a.stream_id,
    areaId: a.area_id,
    applicationId: a.application_id,
    state: a.state,
    current: isCurrentAward(loaded.snapshot),
    awardedAt: iso(a.awarded_at),
    expiresAt: iso(a.expires_at),
    renewalDueAt: context.renewalDueAt,
    version: a.version,
    allowedEvents: eventsForCaller(awardWorkflow, loaded),
  };
}

export type AwardListQuery = {
  state?: string;
  organisationId?: string;
  areaId?: string;
  stream?: string;
  current?: 'true' | 'false';
  expiringBefore?: string;
  updatedSince?: string;
  q?: string;
  sort?: string;
  limit: number;
  cursor?: string;
};

export async function listAwards(db: Db, p: Principal, q: AwardListQuery) {
  const sort = parseSort(
    q.sort,
    {
      awardedAt: 'awards.awarded_at',
      expiresAt: 'awards.expires_at',
      updatedAt: 'awards.updated_at',
      organisationName: 'organisations.name',
    },
    '-awardedAt',
  );
  let qb = selectAwards(db).where(awardsInScope(p));
  if (q.state) qb = qb.where('awards.state', '=', q.state);
  if (q.organisationId) qb = qb.where('awards.organisation_id', '=', q.organisationId);
  if (q.areaId) qb = qb.where('organisations.area_id', '=', q.areaId);
  if (q.stream) qb = qb.where('awards.stream_id', 'in', streamIdsNamed(db, q.stream));
  if (q.current) qb = qb.where('awards.state', q.current === 'true' ? 'in' : 'not in', CURRENT_AWARD_STATES);
  if (q.expiringBefore) qb = qb.where('awards.expires_at', '<', new Date(q.expiringBefore));
  if (q.updatedSince) qb = qb.where('awards.updated_at', '>=', new Date(q.updatedSince));
  if (q.q) qb = qb.where('organisations.name', 'ilike', likePattern(q.q));
  const page = await keysetPage(qb, {
    idColumn: 'awards.id',
    limit: q.limit,
    cursor: q.cursor,
    sort: { column: sort.column, direction: sort.direction },
  });
  const items = (page.items as AwardRow[]).map((row) =>
    toAwardView({
      id: row.id,
      row,
      version: row.version,
      snapshot: awardWorkflow.machine.resolveState(row.snapshot as never) as AwardSnapshot,
      relations: relationsTo(p, row),
    }),
  );
  return { items, nextCursor: page.nextCursor };
}

export type RegisterQuery = {
  stream?: string;
  areaId?: string;
  nation?: 'england' | 'wales' | 'scotland' | 'northern_ireland';
  name?: string;
  limit: number;
  cursor?: string;
};

export type RegisterEntry = {
  awardId: string;
  organisationName: string;
  stream: string;
  streamSlug: string;
  area: string;
  nation: string;
  awardedAt: string;
  expiresAt: string;
};

/** The register's columns: organisation, stream, area and dates; nothing about people, panels or evidence. */
function selectRegister(db: Db) {
  return db
    .selectFrom('awards')
    .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
    .innerJoin('streams', 'streams.id', 'awards.stream_id')
    .innerJoin('areas', 'areas.id', 'organisations.area_id')
    .select([
      'awards.id',
      'awards.state',
      'organisations.name as organisation_name',
      'streams.name as stream_name',
      'streams.slug as stream_slug',
      'areas.name as area_name',
      'areas.nation',
      'awards.awarded_at',
      'awards.expires_at',
    ]);
}
type RegisterRow = {
  id: string;
  state: string;
  organisation_name: string;
  stream_name: string;
  stream_slug: string;
  area_name: string;
  nation: string;
  awarded_at: Date;
  expires_at: Date;
};
const toRegisterEntry = (r: RegisterRow): RegisterEntry => ({
  awardId: r.id,
  organisationName: r.organisation_name,
  stream: r.stream_name,
  streamSlug: r.stream_slug,
  area: r.area_name,
  nation: r.nation,
  awardedAt: iso(r.awarded_at),
  expiresAt: iso(r.expires_at),
});

/** The public register of current award holders, by organisation name. */
export async function listRegister(db: Db, q: RegisterQuery) {
  let qb = selectRegister(db).where('awards.state', 'in', CURRENT_AWARD_STATES);
  if (q.stream) qb = qb.where('streams.slug', '=', q.stream);
  if (q.areaId) qb = qb.where('organisations.area_id', '=', q.areaId);
  if (q.nation) qb = qb.where('areas.nation', '=', q.nation);
  if (q.name) qb = qb.where('organisations.name', 'ilike', likePattern(q.name));
  const page = await keysetPage(qb, {
    idColumn: 'awards.id',
    limit: q.limit,
    cursor: q.cursor,
    sort: { column: 'organisations.name', direction: 'asc' },
  });
  return { items: (page.items as RegisterRow[]).map(toRegisterEntry), nextCursor: page.nextCursor };
}

/**
 * One award as the public may see it (the certificate's verification link): a current award is
 * confirmed with its dates; any other answers that it is no longer current, and why, without dates
 * of revocation or anything about people.
 */
export async function registerEntry(db: Db, awardId: string) {
  const row = (await selectRegister(db).where('awards.id', '=', awardId).executeTakeFirst()) as
    | RegisterRow
    | undefined;
  if (!row) throw notFound('award');
  const current = isCurrentAwardState(row.state);
  const status = current
    ? 'current'
    : row.state === 'renewed'
      ? 'renewed'
      : row.state === 'revoked'
        ? 'revoked'
        : 'expired';
  return {
    ...toRegisterEntry(row),
    current,
    status: status as 'current' | 'renewed' | 'revoked' | 'expired',
    message: current
      ? `${row.organisation_name} holds a current Sanctuary Award (${row.stream_name}), valid until ${iso(row.expires_at).slice(0, 10)}.`
      : status === 'renewed'
        ? 'This award is no longer current: it was replaced by a renewed award, listed on the register.'
        : 'This award is no longer current.',
  };
}
