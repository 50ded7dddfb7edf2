import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import type { AreasTable } from '../db/schema.ts';
import { assertAdmin } from '../domain/access.ts';
import { DomainError, notFound } from '../domain/errors.ts';
import { keysetPage, parseSort } from '../domain/pagination.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';

const nation = z.enum(['england', 'wales', 'scotland', 'northern_ireland']);

const areaFields = {
  name: z.string().trim().min(1).max(200),
  nation,
  region: z.string().trim().max(200).nullable().optional(),
  localAuthorities: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
  leadOrganisation: z.string().trim().max(200).nullable().optional(),
  active: z.boolean(),
};
const createAreaBody = z.strictObject(areaFields);
const patchAreaBody = z
  .strictObject({
    ...areaFields,
    nation: nation.optional(),
    name: areaFields.name.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');

export const areaView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    nation,
    region: z.string().nullable(),
    localAuthorities: z.array(z.string()),
    leadOrganisation: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Area' });

function toAreaView(a: Selectable<AreasTable>): z.infer<typeof areaView> {
  return {
    id: a.id,
    name: a.name,
    nation: a.nation,
    region: a.region,
    localAuthorities: a.local_authorities,
    leadOrganisation: a.lead_organisation,
    active: a.active,
    createdAt: a.created_at.toISOString(),
    updatedAt: a.updated_at.toISOString(),
  };
}

const isUniqueViolation = (err: unknown) => (err as { code?: string })?.code === '23505';

export const areaRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/areas',
    {
      schema: {
        tags: ['areas'],
        summary: 'Areas covered by local leads (any user)',
        querystring: z.strictObject({
          nation: nation.optional(),
          active: z.enum(['true', 'false']).optional(),
          sort: z.string().max(40).optional().describe('name or createdAt; prefix - for descending'),
          ...pageQuery,
        }),
        response: { 200: pageOf(areaView), ...problemResponses(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const sort = parseSort(q.sort, { name: 'areas.name', createdAt: 'areas.created_at' }, 'name');
      let qb = db.selectFrom('areas').selectAll();
      if (q.nation) qb = qb.where('nation', '=', q.nation);
      if (q.active) qb = qb.where('active', '=', q.active === 'true');
      const page = await keysetPage(qb, {
        idColumn: 'areas.id',
        limit: q.limit,
        cursor: q.cursor,
        sort,
      });
      return { items: page.items.map(toAreaView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/areas/:id',
    {
      schema: {
        tags: ['areas'],
        summary: 'One area',
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: areaView, ...problemResponses(401, 404) },
      },
    },
    async (request) => {
      const area = await db
        .selectFrom('areas')
        .selectAll()
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!area) throw notFound('area');
      return toAreaView(area);
    },
  );

  app.post(
    '/areas',
    {
      schema: {
        tags: ['areas'],
        summary: 'Create an area (admin)',
        body: createAreaBody,
        response: { 201: areaView, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      assertAdmin(caller(request));
      const b = request.body;
      try {
        const area = await db
          .insertInto('areas')
          .values({
            name: b.name,
            nation: b.nation,
            region: b.region ?? null,
            local_authorities: JSON.stringify(b.localAuthorities ?? []),
            lead_organisation: b.leadOrganisation ?? null,
            active: b.active,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return reply.code(201).header('Location', `/areas/${area.id}`).send(toAreaView(area));
      } catch (err) {
        if (isUniqueViolation(err))
          throw new DomainError('conflict', `An area named "${b.name}" already exists`);
        throw err;
      }
    },
  );

  app.patch(
    '/areas/:id',
    {
      schema: {
        tags: ['areas'],
        summary: 'Change an area (admin)',
        params: z.strictObject({ id: z.uuid() }),
        body: patchAreaBody,
        response: { 200: areaView, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      assertAdmin(caller(request));
      const b = request.body;
      try {
        const area = await db
          .updateTable('areas')
          .set({
            ...(b.name !== undefined ? { name: b.name } : {}),
            ...(b.nation !== undefined ? { nation: b.nation } : {}),
            ...(b.region !== undefined ? { region: b.region } : {}),
            ...(b.localAuthorities !== undefined
              ? { local_authorities: JSON.stringify(b.localAuthorities) }
              : {}),
            ...(b.leadOrganisation !== undefined ? { lead_organisation: b.leadOrganisation } : {}),
            ...(b.active !== undefined ? { active: b.active } : {}),
            updated_at: new Date(),
          })
          .where('id', '=', request.params.id)
          .returningAll()
          .executeTakeFirst();
        if (!area) throw notFound('area');
        return toAreaView(area);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new DomainError('conflict', `An area named "${b.name}" already exists`);
        throw err;
      }
    },
  );
};
