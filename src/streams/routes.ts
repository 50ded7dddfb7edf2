import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { assertAdmin } from '../domain/access.ts';
import { notFound, validationFailed } from '../domain/errors.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import * as repo from './repository.ts';

const processEnum = z.enum(['learn', 'embed', 'share']);
export const criterionView = z
  .object({ code: z.string(), process: processEnum, title: z.string() })
  .meta({ id: 'Criterion' });
export const criteriaSetView = z
  .object({
    id: z.uuid(),
    version: z.number().int(),
    note: z.string().nullable(),
    publishedAt: z.string(),
    criteria: z.array(criterionView),
  })
  .meta({ id: 'CriteriaSet' });
export const streamView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    awardYears: z.number().int(),
    renewalNoticeDays: z.number().int(),
    minPanelSize: z.number().int(),
    graceDays: z.number().int(),
    criteriaSet: criteriaSetView,
  })
  .meta({ id: 'Stream' });

const publishBody = z.strictObject({
  note: z.string().trim().max(1000).optional(),
  criteria: z
    .array(
      z.strictObject({
        code: z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/, 'codes are capitals and digits, e.g. L1'),
        process: processEnum,
        title: z.string().trim().min(1).max(1000),
      }),
    )
    .min(3)
    .max(50),
});

const toSetView = (s: repo.CriteriaSetRow) => ({
  id: s.id,
  version: s.version,
  note: s.note,
  publishedAt: new Date(s.published_at).toISOString(),
  criteria: s.criteria,
});

function toStreamView(s: NonNullable<Awaited<ReturnType<typeof repo.findStream>>>) {
  return {
    id: s.id,
    slug: s.slug,
    name: s.name,
    awardYears: s.award_years,
    renewalNoticeDays: s.renewal_notice_days,
    minPanelSize: s.min_panel_size,
    graceDays: s.grace_days,
    criteriaSet: toSetView(s.criteriaSet as repo.CriteriaSetRow),
  };
}

export const streamRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/streams',
    {
      schema: {
        tags: ['streams'],
        summary: 'Streams with their current criteria set',
        response: {
          200: z.object({ items: z.array(streamView), nextCursor: z.null() }),
          ...problemResponses(401),
        },
      },
    },
    async () => {
      const rows = await repo.selectStreams(db).orderBy('streams.name').execute();
      return { items: rows.map(toStreamView), nextCursor: null };
    },
  );

  app.get(
    '/streams/:id',
    {
      schema: {
        tags: ['streams'],
        summary: 'One stream with its current criteria set',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: streamView, ...problemResponses(401, 404) },
      },
    },
    async (request) => {
      const stream = await repo.findStream(db, request.params.id);
      if (!stream) throw notFound('stream');
      return toStreamView(stream);
    },
  );

  app.get(
    '/streams/:id/criteria-sets',
    {
      schema: {
        tags: ['streams'],
        summary: "Every published version of a stream's criteria, newest first",
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.object({ items: z.array(criteriaSetView) }), ...problemResponses(401, 404) },
      },
    },
    async (request) => {
      const stream = await repo.findStream(db, request.params.id);
      if (!stream) throw notFound('stream');
      const sets = await repo.listCriteriaSetIds(db, stream.id);
      const items = await Promise.all(sets.map((s) => repo.findCriteriaSet(db, s.id)));
      return { items: items.map((s) => toSetView(s as repo.CriteriaSetRow)) };
    },
  );

  app.post(
    '/streams/:id/criteria-sets',
    {
      schema: {
        tags: ['streams'],
        summary:
          'Publish a new criteria set version (admin); applications keep the version they started with',
        params: z.strictObject({ id: z.uuid() }),
        body: publishBody,
        response: { 201: criteriaSetView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      assertAdmin(p);
      const { criteria, note } = request.body;
      const codes = criteria.map((c) => c.code);
      const duplicate = codes.find((c, i) => codes.indexOf(c) !== i);
      if (duplicate) throw validationFailed(`Criterion code ${duplicate} appears twice`);
      const missing = (['learn', 'embed', 'share'] as const).filter(
        (proc) => !criteria.some((c) => c.process === proc),
      );
      if (missing.length)
        throw validationFailed(`Every core process needs a criterion; missing: ${missing.join(', ')}`);
      const stream = await repo.findStream(db, request.params.id);
      if (!stream) throw notFound('stream');
      const setId = await db
        .transaction()
        .execute((trx) => repo.insertCriteriaSet(trx, stream.id, p.userId, note ?? null, criteria));
      const set = await repo.findCriteriaSet(db, setId);
      return reply.code(201).send(toSetView(set as repo.CriteriaSetRow));
    },
  );
};
