import type { Db } from '../db/index.ts';
import { assertAdmin } from '../domain/access.ts';
import { notFound, validationFailed } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';
import type { CriteriaSetView, PublishCriteriaSetInput, StreamView } from './schemas.ts';

const CORE_PROCESSES = ['learn', 'embed', 'share'] as const;

const toSetView = (s: repo.CriteriaSetRow): CriteriaSetView => ({
  id: s.id,
  version: s.version,
  note: s.note,
  publishedAt: iso(s.published_at),
  criteria: s.criteria,
});

function toStreamView(s: repo.StreamRow): StreamView {
  return {
    id: s.id,
    slug: s.slug,
    name: s.name,
    nameCy: s.name_cy,
    awardYears: s.award_years,
    renewalNoticeDays: s.renewal_notice_days,
    minPanelSize: s.min_panel_size,
    graceDays: s.grace_days,
    criteriaSet: toSetView(s.criteriaSet as repo.CriteriaSetRow),
  };
}

async function findStreamOr404(db: Db, id: string) {
  const stream = await repo.findStream(db, id);
  if (!stream) throw notFound('stream');
  return stream;
}

/** Every stream with its current criteria set, by name; there are few, so one page holds them all. */
export async function listStreams(db: Db) {
  const rows = await repo.listStreams(db);
  return { items: rows.map(toStreamView), nextCursor: null };
}

export async function getStream(db: Db, id: string): Promise<StreamView> {
  return toStreamView(await findStreamOr404(db, id));
}

export async function listCriteriaSets(db: Db, streamId: string): Promise<CriteriaSetView[]> {
  const stream = await findStreamOr404(db, streamId);
  return (await repo.listCriteriaSets(db, stream.id)).map(toSetView);
}

/** A criteria set names each code once and has a criterion for every core process. */
function assertValidCriteria(criteria: PublishCriteriaSetInput['criteria']) {
  const codes = criteria.map((c) => c.code);
  const duplicate = codes.find((c, i) => codes.indexOf(c) !== i);
  if (duplicate) throw validationFailed(`Criterion code ${duplicate} appears twice`);
  const missing = CORE_PROCESSES.filter((proc) => !criteria.some((c) => c.process === proc));
  if (missing.length)
    throw validationFailed(`Every core process needs a criterion; missing: ${missing.join(', ')}`);
}

/**
 * Publishes the stream's next criteria set version (admin). Applications keep the version they
 * started with.
 */
export async function publishCriteriaSet(
  db: Db,
  p: Principal,
  streamId: string,
  { criteria, note }: PublishCriteriaSetInput,
): Promise<CriteriaSetView> {
  assertAdmin(p);
  assertValidCriteria(criteria);
  const stream = await findStreamOr404(db, streamId);
  const setId = await db.transaction().execute((trx) =>
    repo.insertCriteriaSet(
      trx,
      stream.id,
      p.userId,
      note ?? null,
      criteria.map((c) => ({ ...c, titleCy: c.titleCy ?? null })),
    ),
  );
  return toSetView((await repo.findCriteriaSet(db, setId)) as repo.CriteriaSetRow);
}
