import type { AwardSnapshot } from '../../workflows/index.ts';
import { isCurrentAward, isCurrentAwardState } from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import { awardsInScope, eventsForCaller, relationsTo } from '../domain/access.ts';
import { conflict, notFound } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import { type AwardRow, awardWorkflow, loadAwardForView, loadAwardValidator } from '../workflow/awards.ts';
import { runTransition } from '../workflow/runner.ts';
import type { Loaded, ViewValidator } from '../workflow/types.ts';
import { renderCertificate } from './certificate.ts';
import type { AwardFilters, RegisterFilters, RegisterRow } from './repository.ts';
import * as repo from './repository.ts';

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

export type AwardListQuery = AwardFilters & { sort?: string; limit: number; cursor?: string };

export async function listAwards(db: Db, p: Principal, q: AwardListQuery) {
  const sort = parseSort(q.sort, repo.AWARD_SORT_COLUMNS, '-awardedAt');
  const page = await keysetPage(repo.awardsMatching(db, awardsInScope(p), q), {
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

/** One award the caller may see (404 out of scope). */
export async function getAward(db: Db, p: Principal, id: string) {
  return toAwardView(await awardWorkflow.load(db, id, p));
}

/** One award the caller may see, with its view's validator (for the ETag). */
export async function readAward(db: Db, p: Principal, id: string) {
  const { loaded, validator } = await loadAwardForView(db, id, p);
  return { view: toAwardView(loaded), validator };
}

/** The validator of the caller's view of the award, without the view (a revalidation). */
export function awardValidator(db: Db, p: Principal, id: string): Promise<ViewValidator> {
  return loadAwardValidator(db, id, p);
}

/** Revokes an award through the workflow (the only event a caller sends to an award); answers the new view. */
export async function revokeAward(
  db: Db,
  p: Principal,
  id: string,
  event: { type: 'REVOKE'; reason: string },
  expectedVersion?: number,
) {
  await db
    .transaction()
    .execute((trx) => runTransition(awardWorkflow, trx, { id, event, actor: p, expectedVersion }));
  return readAward(db, p, id);
}

/**
 * The certificate of a current award, for whoever may see the award; a certificate names its public
 * register page under `publicBaseUrl`. An award no longer current gets none (conflict).
 */
export async function certificateFor(db: Db, p: Principal, id: string, publicBaseUrl: string) {
  const view = await getAward(db, p, id);
  if (!view.current)
    throw conflict(`The award is ${view.state}, no longer current: no certificate is issued`, {
      state: view.state,
    });
  const row = await repo.findRegisterRow(db, view.id);
  if (!row) throw notFound('award');
  const entry = toRegisterEntry(row);
  const pdf = await renderCertificate({
    awardId: view.id,
    organisationName: view.organisationName,
    streamName: entry.stream,
    areaName: entry.area,
    awardedAt: new Date(view.awardedAt),
    expiresAt: new Date(view.expiresAt),
    verificationUrl: `${publicBaseUrl}/register/${view.id}`,
  });
  return { pdf, filename: `sanctuary-award-${view.id}.pdf` };
}

export type RegisterQuery = RegisterFilters & { limit: number; cursor?: string };

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
  const page = await keysetPage(repo.currentRegisterMatching(db, q), {
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
  const row = await repo.findRegisterRow(db, awardId);
  if (!row) throw notFound('award');
  if (!isCurrentAwardState(row.state)) {
    // Nothing more: not the holder, the dates, nor why (revoked, expired, renewed).
    return {
      awardId: row.id,
      current: false as const,
      status: 'not-current' as const,
      message: 'This award is not current.',
    };
  }
  return {
    ...toRegisterEntry(row),
    current: true as const,
    status: 'current' as const,
    message: `${row.organisation_name} holds a current Sanctuary Award (${row.stream_name}), valid until ${iso(row.expires_at).slice(0, 10)}.`,
  };
}
