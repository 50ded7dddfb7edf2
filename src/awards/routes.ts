import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Config, publicBaseUrl } from '../config.ts';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { CSV_NOTE, type CsvColumn, columnsOf, sendCsv, wantsCsv } from '../http/csv.ts';
import {
  answeredNotModified,
  expectedVersionFrom,
  NOT_MODIFIED,
  REVALIDATION_NOTE,
  setViewHeaders,
} from '../http/etag.ts';
import { problemResponses } from '../http/openapi.ts';
import { organisationNameQuery, pageOf, pageQuery, sortQuery } from '../http/pagination.ts';
import { uncheckedSuccessSerializer } from '../http/serialize.ts';
import { AWARD_SORT_KEYS } from './repository.ts';
import * as service from './service.ts';

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
type AwardView = z.infer<typeof awardView>;

const registerEntry = z
  .object({
    awardId: z.uuid(),
    organisationName: z.string(),
    stream: z.string(),
    streamSlug: z.string(),
    area: z.string(),
    nation: z.string(),
    awardedAt: z.string(),
    expiresAt: z.string(),
  })
  .meta({ id: 'RegisterEntry' });

const registerVerification = z
  .union([
    registerEntry.extend({ current: z.literal(true), status: z.literal('current'), message: z.string() }),
    z.object({
      awardId: z.uuid(),
      current: z.literal(false),
      status: z.literal('not-current'),
      message: z.string(),
    }),
  ])
  .meta({
    id: 'RegisterVerification',
    description: 'A current award with its holder and dates; of any other, only that it is not current',
  });

const nation = z.enum(['england', 'wales', 'scotland', 'northern_ireland']);
const instant = z.iso.datetime({ offset: true });

export const AWARD_CSV_COLUMNS: CsvColumn<AwardView>[] = columnsOf<AwardView>(
  'id',
  'organisationId',
  'organisationName',
  'streamId',
  'areaId',
  'applicationId',
  'state',
  'current',
  'awardedAt',
  'expiresAt',
  'renewalDueAt',
  'version',
);
/** The register's CSV columns: the API's and the register page's download are the same file. */
export const REGISTER_CSV_COLUMNS = columnsOf<service.RegisterEntry>(
  'awardId',
  'organisationName',
  'stream',
  'area',
  'nation',
  'awardedAt',
  'expiresAt',
);

export const awardRoutes: FastifyPluginAsyncZod<{
  db: Db;
  config: Pick<Config, 'publicUrl' | 'host' | 'port'>;
}> = async (app, { db, config }) => {
  app.get(
    '/awards',
    {
      schema: {
        operationId: 'listAwards',
        tags: ['awards'],
        summary: 'Awards in the caller’s scope',
        description: CSV_NOTE,
        querystring: z.strictObject({
          state: z.string().max(40).optional(),
          organisationId: z.uuid().optional(),
          areaId: z.uuid().optional(),
          stream: z.string().max(60).optional().describe('Stream id or slug'),
          current: z.enum(['true', 'false']).optional(),
          expiringBefore: instant.optional().describe('Only awards expiring before this instant'),
          updatedSince: instant.optional().describe('Only awards changed at or after this instant'),
          q: organisationNameQuery(),
          sort: sortQuery(AWARD_SORT_KEYS),
          ...pageQuery,
        }),
        response: { 200: pageOf(awardView), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      if (!wantsCsv(request)) return service.listAwards(db, p, request.query);
      return sendCsv(reply, {
        filename: 'awards.csv',
        columns: AWARD_CSV_COLUMNS,
        cursor: request.query.cursor,
        fetchPage: (cursor, limit) => service.listAwards(db, p, { ...request.query, cursor, limit }),
      });
    },
  );

  app.get(
    '/awards/:id',
    {
      serializerCompiler: uncheckedSuccessSerializer,
      schema: {
        operationId: 'getAward',
        tags: ['awards'],
        summary: 'One award',
        description: REVALIDATION_NOTE,
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: awardView, 304: NOT_MODIFIED, ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      const { id } = request.params;
      if (await answeredNotModified(request, reply, p, () => service.awardValidator(db, p, id))) return reply;
      const { view, validator } = await service.readAward(db, p, id);
      setViewHeaders(reply, validator, p);
      return view;
    },
  );

  app.get(
    '/awards/:id/certificate',
    {
      schema: {
        operationId: 'getCertificate',
        tags: ['awards'],
        summary:
          'The award certificate as PDF (a current award; the organisation’s members, its lead, admins)',
        description:
          'A one-page PDF: organisation, stream, area, award and expiry dates, and a verification URL — the ' +
          "public `GET /register/{awardId}` page, under PUBLIC_URL when set, else the address the service listens on (never the request's Host header).",
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.any().describe('application/pdf'), ...problemResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { pdf, filename } = await service.certificateFor(
        db,
        caller(request),
        request.params.id,
        publicBaseUrl(config),
      );
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `inline; filename="${filename}"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );

  app.post(
    '/awards/:id/events',
    {
      serializerCompiler: uncheckedSuccessSerializer,
      schema: {
        operationId: 'sendAwardEvent',
        tags: ['awards'],
        summary: 'Revoke an award (admin)',
        params: z.strictObject({ id: z.uuid() }),
        body: z.strictObject({ type: z.literal('REVOKE'), reason: z.string().max(5000) }),
        response: { 200: awardView, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      const { view, validator } = await service.revokeAward(
        db,
        p,
        request.params.id,
        request.body,
        expectedVersionFrom(request),
      );
      setViewHeaders(reply, validator, p);
      return view;
    },
  );

  app.get(
    '/register',
    {
      config: { public: true },
      schema: {
        operationId: 'listRegister',
        tags: ['register'],
        summary: 'The public register of current award holders, by organisation name',
        description: `Only current awards (active, renewal due, renewing); nothing about people, panels or evidence. ${CSV_NOTE}`,
        querystring: z.strictObject({
          stream: z.string().max(60).optional().describe('Stream slug, e.g. schools'),
          areaId: z.uuid().optional(),
          nation: nation.optional(),
          name: organisationNameQuery(),
          ...pageQuery,
        }),
        response: { 200: pageOf(registerEntry), ...problemResponses(400) },
      },
    },
    async (request, reply) => {
      if (!wantsCsv(request)) return service.listRegister(db, request.query);
      return sendCsv(reply, {
        filename: 'sanctuary-awards-register.csv',
        columns: REGISTER_CSV_COLUMNS,
        cursor: request.query.cursor,
        fetchPage: (cursor, limit) => service.listRegister(db, { ...request.query, cursor, limit }),
      });
    },
  );

  app.get(
    '/register/:awardId',
    {
      config: { public: true },
      schema: {
        operationId: 'verifyAward',
        tags: ['register'],
        summary: 'Verify one award (the link printed on its certificate)',
        description:
          'Confirms a current award, or says it is no longer current; nothing about people, panels or evidence.',
        params: z.strictObject({ awardId: z.uuid() }),
        response: { 200: registerVerification, ...problemResponses(400, 404) },
      },
    },
    async (request) => service.registerEntry(db, request.params.awardId),
  );
};
