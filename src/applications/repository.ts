import {
  type Expression,
  type ExpressionBuilder,
  type RawBuilder,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely';
import {
  APPLICATION_FINAL_STATES,
  type ApplicationSnapshot,
  CURRENT_AWARD_STATES,
  type EventRole,
  reviveApplicationSnapshot,
} from '../../workflows/index.ts';
import type { DbOrTrx, Trx } from '../db/index.ts';
import { precompiled } from '../db/precompiled.ts';
import type { ApplicationsTable, Database } from '../db/schema.ts';
import { directoryGeneration } from '../db/validators.ts';
import { assertRelated, relationsTo } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import { likePattern } from '../domain/pagination.ts';
import type { WorkflowActor } from '../domain/principal.ts';
import { streamIdsNamed } from '../streams/repository.ts';
import type { ViewValidator } from '../workflow/types.ts';

export type ApplicationRow = Selectable<ApplicationsTable> & { area_id: string; organisation_name: string };

export type ApplicationAccess = {
  application: ApplicationRow;
  snapshot: ApplicationSnapshot;
  /** How the caller relates to this application; empty means out of scope. */
  relations: Set<EventRole>;
};

export function selectApplications(db: DbOrTrx) {
  return db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .selectAll('applications')
    .select(['organisations.area_id', 'organisations.name as organisation_name']);
}

export type ApplicationFilters = {
  state?: string;
  status?: string;
  areaId?: string;
  organisationId?: string;
  stream?: string;
  kind?: 'initial' | 'renewal';
  updatedSince?: string;
  q?: string;
};

/** Applications within `scope` (from src/domain/access.ts) matching the list's filters, unsorted. */
export function applicationsMatching(
  db: DbOrTrx,
  scope: (eb: ExpressionBuilder<Database, 'applications' | 'organisations'>) => Expression<SqlBool>,
  f: ApplicationFilters,
) {
  let qb = selectApplications(db).where(scope);
  if (f.state) qb = qb.where('applications.state', '=', f.state);
  if (f.status) qb = qb.where('applications.status', '=', f.status);
  if (f.areaId) qb = qb.where('organisations.area_id', '=', f.areaId);
  if (f.organisationId) qb = qb.where('applications.organisation_id', '=', f.organisationId);
  if (f.kind) qb = qb.where('applications.kind', '=', f.kind);
  if (f.updatedSince) qb = qb.where('applications.updated_at', '>=', new Date(f.updatedSince));
  if (f.q) qb = qb.where('organisations.name', 'ilike', likePattern(f.q));
  if (f.stream) qb = qb.where('applications.stream_id', 'in', streamIdsNamed(db, f.stream));
  return qb;
}

export type PanelPerson = {
  id: string;
  name: string;
  lived: boolean | null;
  local: boolean | null;
  cos: boolean | null;
};

// The panel's member ids, as uuids (an index lookup each, not a scan of every user).
const PANEL_IDS = sql`(select (jsonb_array_elements_text(applications.snapshot -> 'context' -> 'panel'))::uuid)`;

/** Non-deleted evidence files per criterion code (codes with none absent). */
const EVIDENCE_COUNTS = sql<
  Record<string, number>
>`(select coalesce(jsonb_object_agg(c.code, c.n), '{}'::jsonb) from (
    select code, count(*) as n from evidence e cross join lateral unnest(e.criteria) as code
    where e.application_id = applications.id and e.deleted_at is null group by code) c)`;

export type PanelProfileFact = {
  userId: string;
  livedExperience: boolean;
  localGroup: boolean;
  cosStaff: boolean;
};

/**
 * What SPEC §4's guards read from the database, as columns over `applications` joined with
 * `organisations`: raw facts, read in the statement that reads (or locks) the row. The rules that read
 * them, and which event's guard reads which, are in src/workflow/applications.ts.
 */
const GUARD_FACTS = {
  pledge_signed: sql<boolean>`exists (select 1 from pledges p where p.organisation_id = applications.organisation_id)`,
  // Blank answers do not count (btrim: spaces only, as written).
  answered_codes: sql<string[]>`(select coalesce(jsonb_agg(x.code order by x.code), '[]'::jsonb)
    from application_answers x where x.application_id = applications.id and btrim(x.text) <> '')`,
  evidence_counts: EVIDENCE_COUNTS,
  area: sql<{ nation: string; active: boolean; hasLead: boolean }>`(select jsonb_build_object(
      'nation', ar.nation, 'active', ar.active,
      'hasLead', exists (select 1 from grants g where g.role = 'lead' and g.area_id = ar.id))
    from areas ar where ar.id = organisations.area_id)`,
  panel_profiles: sql<PanelProfileFact[]>`(select coalesce(jsonb_agg(jsonb_build_object('userId', p.user_id,
      'livedExperience', p.lived_experience, 'localGroup', p.local_group, 'cosStaff', p.cos_staff)), '[]'::jsonb)
    from appraiser_profiles p where p.user_id in ${PANEL_IDS})`,
  // Criteria that received evidence since the decision and still have it: a new file, or a file newly
  // filed under the criterion (the same bytes uploaded again for another criterion count for that
  // criterion), read from the upload history lines, which record what each upload added.
  criteria_with_new_evidence: sql<
    string[]
  >`(select coalesce(jsonb_agg(distinct c.code order by c.code), '[]'::jsonb)
    from application_events h
    join evidence e on e.id::text = h.payload->>'evidenceId' and e.deleted_at is null
    cross join lateral jsonb_array_elements_text(coalesce(h.payload->'addedCriteria', h.payload->'criteria')) as c(code)
    where h.application_id = applications.id
      and h.type = 'EVIDENCE_UPLOADED'
      and h.at > (applications.snapshot -> 'context' -> 'decision' ->> 'decidedAt')::timestamptz
      and c.code = any(e.criteria))`,
};
export type GuardFactName = keyof typeof GUARD_FACTS;
/** Guard facts as read; a fact not read (not asked for, or not wanted in this state) is absent or null. */
export type GuardFacts = {
  pledge_signed?: boolean | null;
  answered_codes?: string[] | null;
  evidence_counts?: Record<string, number> | null;
  area?: { nation: string; active: boolean; hasLead: boolean } | null;
  panel_profiles?: PanelProfileFact[] | null;
  criteria_with_new_evidence?: string[] | null;
};

/** Reads these guard facts of one application (no scope check: the caller holds it already). */
export async function loadGuardFacts(db: DbOrTrx, id: string, names: GuardFactName[]): Promise<GuardFacts> {
  if (names.length === 0) return {};
  return (await db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select(names.map((name) => (GUARD_FACTS[name] as RawBuilder<unknown>).as(name)))
    .where('applications.id', '=', id)
    .executeTakeFirstOrThrow()) as GuardFacts;
}

/** What ASSIGN_APPRAISER's guards need of the person assigned, in one statement. */
export async function loadAssigneeFacts(db: DbOrTrx, userId: string, organisationId: string) {
  return db
    .selectNoFrom((eb) => [
      eb
        .exists(
          eb.selectFrom('grants').select('id').where('user_id', '=', userId).where('role', '=', 'appraiser'),
        )
        .as('is_appraiser'),
      eb
        .exists(
          eb
            .selectFrom('grants')
            .select('id')
            .where('user_id', '=', userId)
            .where('organisation_id', '=', organisationId),
        )
        .as('is_member'),
      eb
        .exists(
          eb
            .selectFrom('conflicts')
            .select('user_id')
            .where('user_id', '=', userId)
            .where('organisation_id', '=', organisationId),
        )
        .as('has_conflict'),
      eb
        .selectFrom('appraiser_profiles')
        .select('home_area_id')
        .where('user_id', '=', userId)
        .as('home_area_id'),
    ])
    .executeTakeFirstOrThrow();
}

/** The validator of an application's view (with the caller's identity, its ETag: src/http/etag.ts). */
export function applicationValidatorOf(row: {
  version: number;
  revision: number;
  directory_generation: string;
}): ViewValidator {
  return { version: row.version, stamp: `a${row.revision}.${row.directory_generation}` };
}

/**
 * The validator of an application's view, for a revalidation: one primary-key lookup (not the view's
 * query); not-found out of the caller's scope, as the view would be.
 */
export async function loadApplicationValidator(
  db: DbOrTrx,
  p: WorkflowActor,
  id: string,
): Promise<ViewValidator> {
  const [row] = await validatorStatement(db, { id });
  if (!row) throw notFound('application');
  assertRelated(relationsTo(p, row, row.panel ?? []), 'application');
  return applicationValidatorOf(row);
}

const validatorStatement = precompiled((db, value: (name: 'id') => string) =>
  db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select([
      'applications.version',
      'applications.revision',
      'applications.organisation_id',
      'organisations.area_id',
      sql<string[]>`applications.snapshot -> 'context' -> 'panel'`.as('panel'),
      directoryGeneration.as('directory_generation'),
    ])
    .where('applications.id', '=', value('id')),
);

/** What a view shows besides the row itself: read in the same query as the row (one round trip). */
export type ApplicationDetails = {
  answers: Record<string, string>;
  evidenceCounts: Record<string, number>;
  panelPeople: PanelPerson[];
  awardId: string | null;
  /** The guard facts of the events the application's state accepts (for allowedEvents and blockers). */
  guardFacts: GuardFacts;
  /** The validator of the view these details are part of. */
  validator: ViewValidator;
};

/**
 * The application row with its answers, evidence counts per criterion, panel people, award id and
 * the guard facts the view's preview of events reads: each only in the states listed for it in
 * `guardFactStates` (the states accepting an event whose guard reads it).
 */
export function selectApplicationsWithDetails(
  db: DbOrTrx,
  guardFactStates: ReadonlyMap<GuardFactName, readonly string[]>,
) {
  return selectApplications(db).select([
    directoryGeneration.as('directory_generation'),
    sql<Record<string, string>>`(select coalesce(jsonb_object_agg(a.code, a.text), '{}'::jsonb)
      from application_answers a where a.application_id = applications.id)`.as('answers'),
    EVIDENCE_COUNTS.as('evidence_counts'),
    sql<PanelPerson[]>`(select coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name,
        'lived', p.lived_experience, 'local', p.local_group, 'cos', p.cos_staff)), '[]'::jsonb)
      from users u left join appraiser_profiles p on p.user_id = u.id
      where u.id in ${PANEL_IDS})`.as('panel_people'),
    sql<string | null>`(select w.id from awards w where w.application_id = applications.id)`.as('award_id'),
    ...[...guardFactStates]
      .filter(([name]) => name !== 'evidence_counts')
      .map(([name, states]) =>
        (states.length
          ? sql`case when applications.state in (${sql.join(states.map((s) => sql.lit(s)))}) then ${GUARD_FACTS[name]} end`
          : sql`null`
        ).as(`fact_${name}`),
      ),
  ]);
}

type GuardFactStates = ReadonlyMap<GuardFactName, readonly string[]>;

// The view's statement is the same for every application: built and compiled once (src/db/precompiled.ts).
const viewStatements = new WeakMap<GuardFactStates, ReturnType<typeof buildViewStatements>>();
function buildViewStatements(states: GuardFactStates) {
  return {
    read: precompiled((db, value: (name: 'id') => string) =>
      selectApplicationsWithDetails(db, states).where('applications.id', '=', value('id')),
    ),
    lock: precompiled((db, value: (name: 'id') => string) =>
      selectApplicationsWithDetails(db, states)
        .where('applications.id', '=', value('id'))
        .forUpdate('applications'),
    ),
  };
}
function viewStatementsFor(states: GuardFactStates) {
  let statements = viewStatements.get(states);
  if (!statements) {
    statements = buildViewStatements(states);
    viewStatements.set(states, statements);
  }
  return statements;
}

/** Loads an application with its view details in one query; 404 out of the caller's scope. */
export async function loadApplicationForView(
  db: DbOrTrx,
  p: WorkflowActor,
  id: string,
  guardFactStates: GuardFactStates,
): Promise<ApplicationAccess & { details: ApplicationDetails }> {
  const [row] = await viewStatementsFor(guardFactStates).read(db, { id });
  return viewOf(p, row);
}

/** The same, locking the row for the rest of the transaction (a transition answers with the view). */
export async function lockApplicationForView(
  trx: Trx,
  p: WorkflowActor,
  id: string,
  guardFactStates: GuardFactStates,
): Promise<ApplicationAccess & { details: ApplicationDetails }> {
  const [row] = await viewStatementsFor(guardFactStates).lock(trx, { id });
  return viewOf(p, row);
}

function viewOf(
  p: WorkflowActor,
  row: Record<string, unknown> | undefined,
): ApplicationAccess & { details: ApplicationDetails } {
  if (!row) throw notFound('application');
  const guardFacts: Record<string, unknown> = {};
  const application: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith('fact_')) guardFacts[key.slice('fact_'.length)] = value;
    else application[key] = value;
  }
  const { answers, evidence_counts, panel_people, award_id, directory_generation, ...rest } = application as {
    answers: Record<string, string>;
    evidence_counts: Record<string, number>;
    panel_people: PanelPerson[];
    award_id: string | null;
    directory_generation: string;
  } & ApplicationRow;
  const snapshot = reviveApplicationSnapshot(rest.snapshot);
  const relations = relationsTo(p, rest, snapshot.context.panel);
  assertRelated(relations, 'application');
  return {
    application: rest,
    snapshot,
    relations,
    details: {
      answers,
      evidenceCounts: evidence_counts,
      panelPeople: panel_people,
      awardId: award_id,
      guardFacts: { ...guardFacts, evidence_counts } as GuardFacts,
      validator: applicationValidatorOf({ ...rest, directory_generation }),
    },
  };
}

/** Loads an application the caller may see; not-found out of the caller's scope. */
export function loadApplicationAccess(db: DbOrTrx, p: WorkflowActor, id: string): Promise<ApplicationAccess> {
  return accessOf(p, selectApplications(db).where('applications.id', '=', id).executeTakeFirst());
}

/** The same, locking the row for the rest of the transaction. */
export function lockApplicationAccess(trx: Trx, p: WorkflowActor, id: string): Promise<ApplicationAccess> {
  return accessOf(
    p,
    selectApplications(trx).where('applications.id', '=', id).forUpdate('applications').executeTakeFirst(),
  );
}

async function accessOf(
  p: WorkflowActor,
  read: Promise<ApplicationRow | undefined>,
): Promise<ApplicationAccess> {
  const application = await read;
  if (!application) throw notFound('application');
  const snapshot = reviveApplicationSnapshot(application.snapshot);
  const relations = relationsTo(p, application, snapshot.context.panel);
  assertRelated(relations, 'application');
  return { application, snapshot, relations };
}

/** The last persisted snapshot of an application at or before an instant, for `?asOf=`. */
export async function snapshotAsOf(db: DbOrTrx, applicationId: string, at: Date) {
  return db
    .selectFrom('application_events')
    .select(['snapshot', 'version'])
    .where('application_id', '=', applicationId)
    .where('snapshot', 'is not', null)
    .where('at', '<=', at)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

// ——— opening an application ———

/** What opening an application needs of its organisation. */
export async function findOrganisationRef(db: DbOrTrx, id: string) {
  return db
    .selectFrom('organisations')
    .select(['id', 'area_id as areaId', 'stream_id as streamId'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Locks the organisation's row: openings for one organisation then run one after another. */
export async function lockOrganisation(trx: Trx, id: string) {
  await trx.selectFrom('organisations').select('id').where('id', '=', id).forUpdate().execute();
}

/** The organisation's open application in a stream, if any. */
export async function findOpenApplication(db: DbOrTrx, organisationId: string, streamId: string) {
  return db
    .selectFrom('applications')
    .select('id')
    .where('organisation_id', '=', organisationId)
    .where('stream_id', '=', streamId)
    .where('status', 'not in', APPLICATION_FINAL_STATES)
    .executeTakeFirst();
}

/** The organisation's current award in a stream (the latest, should there be more). */
export async function findCurrentAward(db: DbOrTrx, organisationId: string, streamId: string) {
  return db
    .selectFrom('awards')
    .select(['id', 'application_id', 'state'])
    .where('organisation_id', '=', organisationId)
    .where('stream_id', '=', streamId)
    .where('state', 'in', CURRENT_AWARD_STATES)
    .orderBy('awarded_at', 'desc')
    .executeTakeFirst();
}

/** One criterion's saved answer, if any. */
export async function answerOf(
  db: DbOrTrx,
  applicationId: string,
  code: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('application_answers')
    .select('text')
    .where('application_id', '=', applicationId)
    .where('code', '=', code)
    .executeTakeFirst();
  return row?.text;
}

/** Copies one application's answers to the criteria `codes` into another, written by `userId`. */
export async function copyAnswers(
  db: DbOrTrx,
  from: { applicationId: string; codes: string[] },
  to: { applicationId: string; userId: string },
) {
  const previous = await db
    .selectFrom('application_answers')
    .select(['code', 'text'])
    .where('application_id', '=', from.applicationId)
    .where('code', 'in', from.codes)
    .execute();
  if (previous.length === 0) return;
  await db
    .insertInto('application_answers')
    .values(
      previous.map((a) => ({
        application_id: to.applicationId,
        code: a.code,
        text: a.text,
        updated_by: to.userId,
      })),
    )
    .execute();
}

/** Writes (or rewrites) the answer to one criterion. */
export async function upsertAnswer(
  db: DbOrTrx,
  a: { applicationId: string; code: string; text: string; userId: string; at: Date },
) {
  await db
    .insertInto('application_answers')
    .values({
      application_id: a.applicationId,
      code: a.code,
      text: a.text,
      updated_by: a.userId,
      updated_at: a.at,
    })
    .onConflict((oc) =>
      oc
        .columns(['application_id', 'code'])
        .doUpdateSet({ text: a.text, updated_by: a.userId, updated_at: a.at }),
    )
    .execute();
}

/** Up to `limit` history lines after line number `afterSeq` (lines are numbered from 1), with the actors' names. */
export async function historyLines(db: DbOrTrx, applicationId: string, afterSeq: number, limit: number) {
  const numbered = db
    .selectFrom('application_events')
    .leftJoin('users', 'users.id', 'application_events.actor_id')
    .select([
      'application_events.type',
      'application_events.actor_id',
      'users.name as actor_name',
      'application_events.from_state',
      'application_events.to_state',
      'application_events.payload',
      'application_events.at',
      sql<number>`row_number() over (order by application_events.id)`.as('seq'),
    ])
    .where('application_events.application_id', '=', applicationId)
    .as('h');
  return db
    .selectFrom(numbered)
    .selectAll()
    .where('h.seq', '>', afterSeq)
    .orderBy('h.seq')
    .limit(limit)
    .execute();
}

/** Everyone ever assigned to the application's panel (the only way onto it), whether on it now or not. */
export async function panelMembersEver(db: DbOrTrx, applicationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('application_events')
    .select(sql<string>`payload->>'userId'`.as('user_id'))
    .distinct()
    .where('application_id', '=', applicationId)
    .where('type', '=', 'ASSIGN_APPRAISER')
    .execute();
  return rows.map((r) => r.user_id).filter((userId): userId is string => typeof userId === 'string');
}

// ——— what a view reads besides the row ———

type CriterionRow = { code: string; process: string; title: string; titleCy: string | null };
/**
 * A published criteria set never changes (a new version is a new set), so its criteria are read once
 * per process rather than on every view (one round trip fewer on the hottest read, see bench/read.ts).
 */
const criteriaCache = new Map<string, Promise<CriterionRow[]>>();
export function criteriaOfSet(db: DbOrTrx, criteriaSetId: string): Promise<CriterionRow[]> {
  let cached = criteriaCache.get(criteriaSetId);
  if (!cached) {
    cached = db
      .selectFrom('criteria')
      .select(['code', 'process', 'title', 'title_cy as titleCy'])
      .where('criteria_set_id', '=', criteriaSetId)
      .orderBy('position')
      .execute();
    // A failed read (e.g. the database away) is not remembered; an empty set (not yet committed) neither.
    cached.then(
      (rows) => rows.length === 0 && criteriaCache.delete(criteriaSetId),
      () => criteriaCache.delete(criteriaSetId),
    );
    if (criteriaCache.size > 1000) criteriaCache.clear();
    criteriaCache.set(criteriaSetId, cached);
  }
  return cached;
}

type Facts = { answers: Record<string, string>; evidenceCounts: Record<string, number> };

/** Answers and evidence as they stood at an instant, rebuilt from history and evidence rows. */
export async function factsAsOf(db: DbOrTrx, applicationId: string, asOf: Date): Promise<Facts> {
  const [answers, counts] = await Promise.all([
    db
      .selectFrom('application_events')
      .select([sql<string>`payload->>'code'`.as('code'), sql<string>`payload->>'text'`.as('text')])
      .where('application_id', '=', applicationId)
      .where('type', '=', 'ANSWER_SAVED')
      .where('at', '<=', asOf)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('evidence')
      .select([sql<string>`unnest(criteria)`.as('code')])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('application_id', '=', applicationId)
      .where('created_at', '<=', asOf)
      .where((eb) => eb.or([eb('deleted_at', 'is', null), eb('deleted_at', '>', asOf)]))
      .groupBy(sql`1`)
      .execute(),
  ]);
  return {
    answers: Object.fromEntries(answers.map((a) => [a.code, a.text])),
    evidenceCounts: Object.fromEntries(counts.map((c) => [c.code, Number(c.n)])),
  };
}

export async function panelPeopleOf(db: DbOrTrx, panel: string[]): Promise<PanelPerson[]> {
  if (panel.length === 0) return [];
  return db
    .selectFrom('users')
    .leftJoin('appraiser_profiles', 'appraiser_profiles.user_id', 'users.id')
    .select([
      'users.id',
      'users.name',
      'appraiser_profiles.lived_experience as lived',
      'appraiser_profiles.local_group as local',
      'appraiser_profiles.cos_staff as cos',
    ])
    .where('users.id', 'in', panel)
    .execute();
}

/** The keys a list may be sorted by (`?sort=key` or `-key`), and the column each one orders. */
export const APPLICATION_SORT_COLUMNS = {
  createdAt: 'applications.created_at',
  updatedAt: 'applications.updated_at',
  organisationName: 'organisations.name',
};
export const APPLICATION_SORT_KEYS = Object.keys(
  APPLICATION_SORT_COLUMNS,
) as (keyof typeof APPLICATION_SORT_COLUMNS)[];
