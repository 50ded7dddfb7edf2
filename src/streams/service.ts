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

export type CriteriaProblem =
  | { kind: 'duplicate-code'; index: number; code: string }
  | { kind: 'missing-process'; processes: (typeof CORE_PROCESSES)[number][] };

/** What keeps a criteria set from being published: each code once, a criterion for every core process. */
export function criteriaProblems(criteria: PublishCriteriaSetInput['criteria']): CriteriaProblem[] {
  const codes = criteria.map((c) => c.code);
  const problems: CriteriaProblem[] = codes.flatMap((code, index) =>
    codes.indexOf(code) !== index ? [{ kind: 'duplicate-code' as const, index, code }] : [],
  );
  const missing = CORE_PROCESSES.filter((proc) => !criteria.some((c) => c.process === proc));
  if (missing.length) problems.push({ kind: 'missing-process', processes: missing });
  return problems;
}

function assertValidCriteria(criteria: PublishCriteriaSetInput['criteria']) {
  const [problem] = criteriaProblems(criteria);
  if (problem?.kind === 'duplicate-code')
    throw validationFailed(`Criterion code ${problem.code} appears twice`);
  if (problem?.kind === 'missing-process')
    throw validationFailed(`Every core process needs a criterion; missing: ${problem.processes.join(', ')}`);
}

// What a comparison reads of a criterion (a published one's Welsh title is null where a new one's is absent).
type Criterion = Omit<PublishCriteriaSetInput['criteria'][number], 'titleCy'> & { titleCy?: string | null };
export type CriteriaChanges = {
  added: Criterion[];
  removed: Criterion[];
  /** Same code, new wording (English or Welsh) or another core process. */
  reworded: { code: string; before: Criterion; after: Criterion }[];
  unchanged: number;
};

/** What a new version changes against the current one, criterion by criterion (matched by code). */
export function criteriaChanges(current: Criterion[], next: Criterion[]): CriteriaChanges {
  const before = new Map(current.map((c) => [c.code, c]));
  const after = new Map(next.map((c) => [c.code, c]));
  const reworded = next.flatMap((c) => {
    const old = before.get(c.code);
    const changed =
      old &&
      (old.title !== c.title || (old.titleCy ?? null) !== (c.titleCy ?? null) || old.process !== c.process);
    return changed ? [{ code: c.code, before: old, after: c }] : [];
  });
  return {
    added: next.filter((c) => !before.has(c.code)),
    removed: current.filter((c) => !after.has(c.code)),
    reworded,
    unchanged: next.filter((c) => before.has(c.code)).length - reworded.length,
  };
}

/**
 * What publishing this set would do (admin), without publishing it: the stream as it is now, the
 * version it would become, the changes against the current set, and what would refuse it.
 */
export async function previewCriteriaSet(
  db: Db,
  p: Principal,
  streamId: string,
  { criteria }: Pick<PublishCriteriaSetInput, 'criteria'>,
) {
  assertAdmin(p);
  const stream = toStreamView(await findStreamOr404(db, streamId));
  return {
    stream,
    nextVersion: stream.criteriaSet.version + 1,
    changes: criteriaChanges(stream.criteriaSet.criteria, criteria),
    problems: criteriaProblems(criteria),
  };
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
