import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type Expression, type SqlBool, sql } from 'kysely';
import { z } from 'zod';
import { isCurrentAward } from '../../workflows/index.ts';
import type { Db } from '../db/index.ts';
import { caller, type Principal } from '../http/auth.ts';
import { expectedVersionFrom, setVersionHeaders } from '../http/etag.ts';
import { problemResponses } from '../http/openapi.ts';
import { keysetPage, pageOf, pageQuery, parseSort } from '../http/pagination.ts';
import { type AwardRow, awardWorkflow, selectAwards } from '../workflow/awards.ts';
import { type Loaded, runTransition } from '../workflow/runner.ts';
import type { AwardSnapshot } from '../../workflows/index.ts';

const iso = (d: Date | string) => new Date(d).toISOString();
const CURRENT = ['active', 'renewalDue', 'renewing'];

export const awardView = z
  .object({
    id: z.uuid(),
    organisationId: z.uuid(),
    organisationName: z.string(),
    streamId: z.uuid(),
    areaId: z.uuid(),
    applicationId: z.uuid(),
    state: z.string(),
    current: z.boolean().describe('On the public register: active, renewalDue or renewing'),
    awardedAt: z.string(),
    expiresAt: z.string(),
    renewalDueAt: z.string().nullable(),
    version: z.number().int(),
    allowedEvents: z.array(z.string()),
  })
  .meta({ id: 'Award' });

function toAwardView(loaded: Loaded<AwardSnapshot, AwardRow>) {
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
    allowedEvents: loaded.relations.has('admin') && isCurrentAward(loaded.snapshot) ? ['REVOKE'] : [],
  };
}

function awardsInScope(p: Principal) {
  return (eb: any): Expression<SqlBool> => {
    if (p.isAdmin) return sql<SqlBool>`true`;
    const visible: Expression<SqlBool>[] = [];
    if (p.leadAreaIds.length) visible.push(eb('organisations.area_id', 'in', p.leadAreaIds));
    if (p.memberOrganisationIds.length) visible.push(eb('awards.organisation_id', 'in', p.memberOrganisationIds));
    return visible.length ? eb.or(visible) : sql<SqlBool>`false`;
  };
}

const registerEntry = z
  .object({
    awardId: z.uuid(),
    organisationName: z.string(),
    stream: z.string(),
    area: z.string(),
    nation: z.string(),
    awardedAt: z.string(),
    expiresAt: z.string(),
  })
  .meta({ id: 'RegisterEntry' });

export const awardRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/awards',
    {
      schema: {
        tags: ['awards'],
        summary: 'Awards in the caller’s scope',
        querystring: z.strictObject({
          state: z.string().max(40).optional(),
          organisationId: z.uuid().optional(),
          areaId: z.uuid().optional(),
          current: z.enum(['true', 'false']).optional(),
          sort: z.string().max(40).optional().describe('awardedAt or expiresAt; prefix - for descending'),
          ...pageQuery,
        }),
        response: { 200: pageOf(awardView), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const p = caller(request);
      const q = request.query;
      const sort = parseSort(q.sort, { awardedAt: 'awards.awarded_at', expiresAt: 'awards.expires_at' }, '-awardedAt');
      let qb = selectAwards(db).where(awardsInScope(p));
      if (q.state) qb = qb.where('awards.state', '=', q.state);
      if (q.organisationId) qb = qb.where('awards.organisation_id', '=', q.organisationId);
      if (q.areaId) qb = qb.where('organisations.area_id', '=', q.areaId);
      if (q.current) qb = qb.where('awards.state', q.current === 'true' ? 'in' : 'not in', CURRENT);
      const page = await keysetPage(qb as any, {
        idColumn: 'awards.id',
        limit: q.limit,
        cursor: q.cursor,
        sort: { ...sort, valueOf: (a: AwardRow) => iso(sort.key === 'awardedAt' ? a.awarded_at : a.expires_at) },
      });
      const items = (page.items as AwardRow[]).map((row) => {
        const loaded = { id: row.id, row, version: row.version, snapshot: awardWorkflow.machine.resolveState(row.snapshot as never) as AwardSnapshot, relations: new Set(p.isAdmin ? ['admin' as const] : []) };
        return toAwardView(loaded);
      });
      return { items, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/awards/:id',
    {
      schema: {
        tags: ['awards'],
        summary: 'One award',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: awardView, ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const loaded = await awardWorkflow.load(db, request.params.id, caller(request), false);
      setVersionHeaders(reply, loaded.version);
      return toAwardView(loaded);
    },
  );

  app.post(
    '/awards/:id/events',
    {
      schema: {
        tags: ['awards'],
        summary: 'Revoke an award (admin)',
        params: z.strictObject({ id: z.uuid() }),
        body: z.strictObject({ type: z.literal('REVOKE'), reason: z.string().max(5000) }),
        response: { 200: awardView, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      await db.transaction().execute((trx) =>
        runTransition(awardWorkflow, trx, { id: request.params.id, event: request.body, actor: p, expectedVersion: expectedVersionFrom(request) }),
      );
      const loaded = await awardWorkflow.load(db, request.params.id, p, false);
      setVersionHeaders(reply, loaded.version);
      return toAwardView(loaded);
    },
  );

  app.get(
    '/register',
    {
      config: { public: true },
      schema: {
        tags: ['register'],
        summary: 'The public register of current award holders',
        querystring: z.strictObject({
          stream: z.string().max(60).optional().describe('Stream slug'),
          areaId: z.uuid().optional(),
          nation: z.enum(['england', 'wales', 'scotland', 'northern_ireland']).optional(),
          name: z.string().max(200).optional().describe('Text in the organisation name'),
          ...pageQuery,
        }),
        response: { 200: pageOf(registerEntry), ...problemResponses(400) },
      },
    },
    async (request) => {
      const q = request.query;
      let qb = db
        .selectFrom('awards')
        .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
        .innerJoin('streams', 'streams.id', 'awards.stream_id')
        .innerJoin('areas', 'areas.id', 'organisations.area_id')
        .select([
          'awards.id',
          'organisations.name as organisation_name',
          'streams.name as stream_name',
          'areas.name as area_name',
          'areas.nation',
          'awards.awarded_at',
          'awards.expires_at',
        ])
        .where('awards.state', 'in', CURRENT);
      if (q.stream) qb = qb.where('streams.slug', '=', q.stream);
      if (q.areaId) qb = qb.where('organisations.area_id', '=', q.areaId);
      if (q.nation) qb = qb.where('areas.nation', '=', q.nation);
      if (q.name) qb = qb.where('organisations.name', 'ilike', `%${q.name.replace(/[\\%_]/g, '\\$&')}%`);
      const page = await keysetPage(qb as any, {
        idColumn: 'awards.id',
        limit: q.limit,
        cursor: q.cursor,
        sort: { column: 'organisations.name', direction: 'asc', valueOf: (r: { organisation_name: string }) => r.organisation_name },
      });
      return {
        items: (page.items as any[]).map((r) => ({
          awardId: r.id,
          organisationName: r.organisation_name,
          stream: r.stream_name,
          area: r.area_name,
          nation: r.nation,
          awardedAt: iso(r.awarded_at),
          expiresAt: iso(r.expires_at),
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};
