import { sql } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx, Trx } from '../db/index.ts';

export type CriterionRow = {
  code: string;
  process: 'learn' | 'embed' | 'share';
  title: string;
  titleCy: string | null;
};
export type CriteriaSetRow = {
  id: string;
  version: number;
  note: string | null;
  published_at: Date | string;
  criteria: CriterionRow[];
};

/** Streams with their current (highest version) criteria set. */
export function selectStreams(db: DbOrTrx) {
  return db.selectFrom('streams').select((eb) => [
    'streams.id',
    'streams.slug',
    'streams.name',
    'streams.name_cy',
    'streams.award_years',
    'streams.renewal_notice_days',
    'streams.min_panel_size',
    'streams.grace_days',
    jsonObjectFrom(
      eb
        .selectFrom('criteria_sets as cs')
        .select((eb2) => [
          'cs.id',
          'cs.version',
          'cs.note',
          'cs.published_at',
          jsonArrayFrom(
            eb2
              .selectFrom('criteria as c')
              .select(['c.code', 'c.process', 'c.title', 'c.title_cy as titleCy'])
              .whereRef('c.criteria_set_id', '=', 'cs.id')
              .orderBy('c.position'),
          ).as('criteria'),
        ])
        .whereRef('cs.stream_id', '=', 'streams.id')
        .orderBy('cs.version', 'desc')
        .limit(1),
    ).as('criteriaSet'),
  ]);
}

export type StreamRow = NonNullable<Awaited<ReturnType<typeof findStream>>>;

export async function findStream(db: DbOrTrx, id: string) {
  return selectStreams(db).where('streams.id', '=', id).executeTakeFirst();
}

export async function listStreams(db: DbOrTrx) {
  return selectStreams(db).orderBy('streams.name').execute();
}

function selectCriteriaSets(db: DbOrTrx) {
  return db
    .selectFrom('criteria_sets as cs')
    .select((eb) => [
      'cs.id',
      'cs.version',
      'cs.note',
      'cs.published_at',
      jsonArrayFrom(
        eb
          .selectFrom('criteria as c')
          .select(['c.code', 'c.process', 'c.title', 'c.title_cy as titleCy'])
          .whereRef('c.criteria_set_id', '=', 'cs.id')
          .orderBy('c.position'),
      ).as('criteria'),
    ]);
}

export async function findCriteriaSet(db: DbOrTrx, id: string): Promise<CriteriaSetRow | undefined> {
  return selectCriteriaSets(db).where('cs.id', '=', id).executeTakeFirst() as Promise<
    CriteriaSetRow | undefined
  >;
}

/** Every version of a stream's criteria, newest first. */
export async function listCriteriaSets(db: DbOrTrx, streamId: string): Promise<CriteriaSetRow[]> {
  return selectCriteriaSets(db)
    .where('cs.stream_id', '=', streamId)
    .orderBy('cs.version', 'desc')
    .execute() as Promise<CriteriaSetRow[]>;
}

/** Publishes the next version; the stream row is locked so two admins cannot publish the same number. */
export async function insertCriteriaSet(
  trx: Trx,
  streamId: string,
  publishedBy: string,
  note: string | null,
  criteria: CriterionRow[],
): Promise<string> {
  await trx.selectFrom('streams').select('id').where('id', '=', streamId).forUpdate().execute();
  const latest = await trx
    .selectFrom('criteria_sets')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('stream_id', '=', streamId)
    .executeTakeFirst();
  const set = await trx
    .insertInto('criteria_sets')
    .values({
      stream_id: streamId,
      version: Number(latest?.version ?? 0) + 1,
      note,
      published_by: publishedBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('criteria')
    .values(
      criteria.map(({ titleCy, ...c }, position) => ({
        criteria_set_id: set.id,
        position,
        ...c,
        title_cy: titleCy,
      })),
    )
    .execute();
  return set.id;
}

/** The ids of the stream a list filter names, by id or by slug (`?stream=schools`), as a subquery. */
export function streamIdsNamed(db: DbOrTrx, stream: string) {
  return db
    .selectFrom('streams')
    .select('streams.id')
    .where((eb) => eb.or([eb('streams.slug', '=', stream), eb(sql<string>`streams.id::text`, '=', stream)]));
}
