import { sql } from 'kysely';
import {
  APPLICATION_FINAL_STATES,
  CURRENT_AWARD_STATES,
  canEditAnswers,
  reviveApplicationSnapshot,
} from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import { applicationsInScope, assertOrganisationVisible, relationsTo } from '../domain/access.ts';
import { DomainError, forbidden, notFound, validationFailed } from '../domain/errors.ts';
import { iso } from '../domain/iso.ts';
import { keysetPage, likePattern, parseSort } from '../domain/pagination.ts';
import type { Principal } from '../domain/principal.ts';
import { streamIdsNamed } from '../streams/repository.ts';
import { applicationWorkflow, type LoadedApplication, startApplication } from '../workflow/applications.ts';
import { beginRenewal } from '../workflow/awards.ts';
import { runTransition } from '../workflow/runner.ts';
import { appendApplicationHistory } from './history.ts';
import type { ApplicationRow } from './repository.ts';
import { loadApplicationForView, selectApplications } from './repository.ts';
import type { ApplicationEventBody } from './schemas.ts';
import { historyLineFor, renderApplication } from './views.ts';

export function loadApplication(db: Db, p: Principal, id: string): Promise<LoadedApplication> {
  return applicationWorkflow.load(db, id, p);
}

/** Loads an application for a view, with its details, in one query (404 out of scope). */
async function loadForView(db: Db, p: Principal | 'system', id: string) {
  const { application, snapshot, relations, details } = await loadApplicationForView(db, p, id);
  return {
    loaded: { id: application.id, row: application, snapshot, version: application.version, relations },
    details,
  };
}

export async function getApplication(db: Db, p: Principal, id: string, asOf?: string) {
  if (!asOf) {
    const { loaded, details } = await loadForView(db, p, id);
    return renderApplication(db, loaded, p, { details });
  }
  const loaded = await loadApplication(db, p, id);
  const at = new Date(asOf);
  const past = await db
    .selectFrom('application_events')
    .select(['snapshot', 'version'])
    .where('application_id', '=', id)
    .where('snapshot', 'is not', null)
    .where('at', '<=', at)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!past?.snapshot) throw notFound(`application as of ${asOf} (it did not exist yet)`);
  return renderApplication(db, loaded, p, {
    asOf: { at, snapshot: reviveApplicationSnapshot(past.snapshot), version: past.version ?? 1 },
  });
}

/** Opens an application: at most one open per organisation and stream; a renewal is pre-filled. */
export async function createApplication(
  db: Db,
  p: Principal,
  input: { organisationId: string; kind: 'initial' | 'renewal' },
) {
  const org = await db
    .selectFrom('organisations')
    .select(['id', 'area_id as areaId', 'stream_id as streamId'])
    .where('id', '=', input.organisationId)
    .executeTakeFirst();
  assertOrganisationVisible(p, org);
  const id = await db.transaction().execute(async (trx) => {
    // Serialise openings for one organisation so the one-open rule and the award checks see each other.
    await trx.selectFrom('organisations').select('id').where('id', '=', org.id).forUpdate().execute();
    const open = await trx
      .selectFrom('applications')
      .select('id')
      .where('organisation_id', '=', org.id)
      .where('stream_id', '=', org.streamId)
      .where('status', 'not in', APPLICATION_FINAL_STATES)
      .executeTakeFirst();
    if (open)
      throw new DomainError('conflict', `The organisation already has an open application (${open.id})`, {
        applicationId: open.id,
      });
    const award = await trx
      .selectFrom('awards')
      .select(['id', 'application_id', 'state'])
      .where('organisation_id', '=', org.id)
      .where('stream_id', '=', org.streamId)
      .where('state', 'in', CURRENT_AWARD_STATES)
      .orderBy('awarded_at', 'desc')
      .executeTakeFirst();
    if (input.kind === 'initial' && award) {
      throw new DomainError(
        'guard-failed',
        'The organisation holds a current award: open a renewal instead',
        {
          blockers: ['The organisation holds a current award: open a renewal instead'],
        },
      );
    }
    if (input.kind === 'renewal' && !award) {
      throw new DomainError(
        'guard-failed',
        'There is no current award to renew: open an initial application',
        {
          blockers: ['There is no current award to renew: open an initial application'],
        },
      );
    }
    const now = new Date();
    const created = await startApplication(trx, {
      organisationId: org.id,
      streamId: org.streamId,
      kind: input.kind,
      createdBy: p.userId,
      previousAwardId: award?.id ?? null,
      now,
    });
    if (award) {
      // Pre-fill from the last awarded application, for the criteria that still exist.
      const previous = await trx
        .selectFrom('application_answers')
        .select(['code', 'text'])
        .where('application_id', '=', award.application_id)
        .where('code', 'in', created.criteriaCodes)
        .execute();
      if (previous.length) {
        await trx
          .insertInto('application_answers')
          .values(
            previous.map((a) => ({
              application_id: created.id,
              code: a.code,
              text: a.text,
              updated_by: p.userId,
            })),
          )
          .execute();
      }
      await beginRenewal(trx, award.id, created.id, now);
    }
    return created.id;
  });
  return getApplication(db, p, id);
}

export async function listApplications(
  db: Db,
  p: Principal,
  q: {
    state?: string;
    status?: string;
    areaId?: string;
    organisationId?: string;
    stream?: string;
    kind?: 'initial' | 'renewal';
    updatedSince?: string;
    q?: string;
    sort?: string;
    limit: number;
    cursor?: string;
  },
) {
  const sort = parseSort(
    q.sort,
    {
      createdAt: 'applications.created_at',
      updatedAt: 'applications.updated_at',
      organisationName: 'organisations.name',
    },
    '-createdAt',
  );
  let qb = selectApplications(db).where(applicationsInScope(p));
  if (q.state) qb = qb.where('applications.state', '=', q.state);
  if (q.status) qb = qb.where('applications.status', '=', q.status);
  if (q.areaId) qb = qb.where('organisations.area_id', '=', q.areaId);
  if (q.organisationId) qb = qb.where('applications.organisation_id', '=', q.organisationId);
  if (q.kind) qb = qb.where('applications.kind', '=', q.kind);
  if (q.updatedSince) qb = qb.where('applications.updated_at', '>=', new Date(q.updatedSince));
  if (q.q) qb = qb.where('organisations.name', 'ilike', likePattern(q.q));
  if (q.stream) qb = qb.where('applications.stream_id', 'in', streamIdsNamed(db, q.stream));
  const page = await keysetPage(qb, {
    idColumn: 'applications.id',
    limit: q.limit,
    cursor: q.cursor,
    sort: { column: sort.column, direction: sort.direction },
  });
  return {
    items: (page.items as ApplicationRow[]).map((a) => ({
      id: a.id,
      organisationId: a.organisation_id,
      organisationName: a.organisation_name,
      streamId: a.stream_id,
      areaId: a.area_id,
      kind: a.kind,
      round: a.round,
      state: a.state,
      status: a.status,
      version: a.version,
      createdAt: iso(a.created_at),
      updatedAt: iso(a.updated_at),
    })),
    nextCursor: page.nextCursor,
  };
}

/** Saves one answer; only an applicant member, and only while the organisation holds the application. */
export async function saveAnswer(db: Db, p: Principal, id: string, code: string, text: string) {
  return db.transaction().execute(async (trx) => {
    const loaded = await applicationWorkflow.lock(trx, id, p);
    if (!loaded.relations.has('applicant'))
      throw forbidden("Only the organisation's members write its answers");
    if (!loaded.snapshot.context.criteriaCodes.includes(code))
      throw notFound(`criterion ${code} in this application`);
    if (!canEditAnswers(loaded.snapshot)) {
      throw new DomainError(
        'illegal-transition',
        `Answers cannot be changed while the application is ${loaded.row.state}`,
        {
          state: loaded.row.state,
        },
      );
    }
    const now = new Date();
    await trx
      .insertInto('application_answers')
      .values({ application_id: id, code, text, updated_by: p.userId, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['application_id', 'code']).doUpdateSet({ text, updated_by: p.userId, updated_at: now }),
      )
      .execute();
    await appendApplicationHistory(trx, {
      applicationId: id,
      type: 'ANSWER_SAVED',
      actorId: p.userId,
      from: loaded.row.state,
      to: loaded.row.state,
      payload: { code, text },
      at: now,
    });
    return { code, text, updatedAt: now.toISOString() };
  });
}

export async function sendEvent(
  db: Db,
  p: Principal,
  id: string,
  event: ApplicationEventBody,
  expectedVersion?: number,
) {
  const result = await db.transaction().execute((trx) =>
    runTransition(applicationWorkflow, trx, {
      id,
      event: event as { type: string } & Record<string, unknown>,
      actor: p,
      expectedVersion,
    }),
  );
  const { loaded, details } = await loadForView(db, 'system', id);
  // An appraiser who just declared a conflict is off the panel: they still get the answer to their own event.
  const relations = relationsTo(p, loaded.row, loaded.snapshot.context.panel);
  loaded.relations = relations.size ? relations : result.before.relations;
  return renderApplication(db, loaded, p, { details });
}

export async function history(db: Db, p: Principal, id: string, limit: number, cursor?: string) {
  const loaded = await loadApplication(db, p, id);
  if (cursor !== undefined && !/^\d{1,12}$/.test(cursor)) {
    throw validationFailed('cursor is not a cursor this API issued', [
      { path: 'query.cursor', message: 'invalid cursor' },
    ]);
  }
  const after = cursor ? Number(cursor) : 0;
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
    .where('application_events.application_id', '=', id)
    .as('h');
  const rows = await db
    .selectFrom(numbered)
    .selectAll()
    .where('h.seq', '>', after)
    .orderBy('h.seq')
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map((r) => {
    const line = { type: r.type, actorId: r.actor_id, payload: r.payload as Record<string, unknown> };
    const { type, payload, hideActor } = historyLineFor(line, loaded.relations, p.userId);
    return {
      seq: Number(r.seq),
      type,
      actorId: hideActor ? null : r.actor_id,
      actorName: hideActor ? 'A panel member' : r.actor_name,
      from: r.from_state,
      to: r.to_state,
      payload,
      at: iso(r.at),
    };
  });
  return { items, nextCursor: rows.length > limit ? String(items.at(-1)?.seq) : null };
}

/** Individual reviews: leads and admins see all rounds, an appraiser their own, applicants none. */
export async function reviews(db: Db, p: Principal, id: string) {
  const loaded = await loadApplication(db, p, id);
  const manager = loaded.relations.has('lead') || loaded.relations.has('admin');
  if (!manager && !loaded.relations.has('appraiser'))
    throw forbidden('Individual reviews are for the panel, the lead and admins');
  const context = loaded.snapshot.context;
  const all = [
    ...context.rounds.flatMap((r) =>
      Object.entries(r.reviews).map(([appraiserId, review]) => ({ round: r.round, appraiserId, review })),
    ),
    ...Object.entries(context.reviews).map(([appraiserId, review]) => ({
      round: context.round,
      appraiserId,
      review,
    })),
  ].filter((r) => manager || r.appraiserId === p.userId);
  const ids = [...new Set(all.map((r) => r.appraiserId))];
  const names = ids.length
    ? await db.selectFrom('users').select(['id', 'name']).where('id', 'in', ids).execute()
    : [];
  const nameOf = new Map(names.map((n) => [n.id, n.name]));
  return {
    items: all.map((r) => ({
      round: r.round,
      appraiserId: r.appraiserId,
      appraiserName: nameOf.get(r.appraiserId) ?? 'Unknown',
      criteria: r.review.criteria,
      summary: r.review.summary,
      submittedAt: r.review.submittedAt,
    })),
  };
}
