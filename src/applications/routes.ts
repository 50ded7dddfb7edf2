import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { CSV_NOTE, columnsOf, sendCsv, wantsCsv } from '../http/csv.ts';
import {
  answeredNotModified,
  expectedVersionFrom,
  NOT_MODIFIED,
  REVALIDATION_NOTE,
  setViewHeaders,
  versionEtag,
} from '../http/etag.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';
import { uncheckedSuccessSerializer } from '../http/serialize.ts';
import {
  applicationEventBody,
  applicationSummary,
  applicationView,
  createApplicationBody,
  historyItem,
  listApplicationsQuery,
  reviewItem,
} from './schemas.ts';
import * as service from './service.ts';

const idParams = z.strictObject({ id: z.uuid() });

type ApplicationSummary = z.infer<typeof applicationSummary>;
export const APPLICATION_CSV_COLUMNS = columnsOf<ApplicationSummary>(
  'id',
  'organisationId',
  'organisationName',
  'streamId',
  'areaId',
  'kind',
  'round',
  'state',
  'status',
  'version',
  'createdAt',
  'updatedAt',
);

export const applicationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/applications',
    {
      serializerCompiler: uncheckedSuccessSerializer,
      schema: {
        operationId: 'createApplication',
        tags: ['applications'],
        summary:
          'Open an application (applicant member, lead, admin); a renewal is pre-filled from the last award',
        body: createApplicationBody,
        response: { 201: applicationView, ...problemResponses(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      const { view, validator } = await service.createApplication(db, p, request.body);
      setViewHeaders(reply, validator, p);
      return reply.code(201).header('Location', `/applications/${view.id}`).send(view);
    },
  );

  app.get(
    '/applications',
    {
      schema: {
        operationId: 'listApplications',
        tags: ['applications'],
        summary: 'Applications in the caller’s scope',
        description: CSV_NOTE,
        querystring: listApplicationsQuery.extend(pageQuery),
        response: { 200: pageOf(applicationSummary), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      if (!wantsCsv(request)) return service.listApplications(db, p, request.query);
      return sendCsv(reply, {
        filename: 'applications.csv',
        columns: APPLICATION_CSV_COLUMNS,
        cursor: request.query.cursor,
        fetchPage: (cursor, limit) => service.listApplications(db, p, { ...request.query, cursor, limit }),
      });
    },
  );

  app.get(
    '/applications/:id',
    {
      serializerCompiler: uncheckedSuccessSerializer,
      schema: {
        operationId: 'getApplication',
        tags: ['applications'],
        summary:
          'One application with the events the caller may send now (allowedEvents) and why others are blocked',
        description: REVALIDATION_NOTE,
        params: idParams,
        querystring: z.strictObject({
          asOf: z.iso
            .datetime({ offset: true })
            .optional()
            .describe('Show the application as it stood at this instant (never answered 304)'),
        }),
        response: { 200: applicationView, 304: NOT_MODIFIED, ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      const { id } = request.params;
      const { asOf } = request.query;
      if (asOf) {
        const past = await service.getApplication(db, p, id, asOf);
        reply.header('ETag', versionEtag(past.version));
        return past;
      }
      if (await answeredNotModified(request, reply, p, () => service.applicationValidator(db, p, id)))
        return reply;
      const { view, validator } = await service.readApplication(db, p, id);
      setViewHeaders(reply, validator, p);
      return view;
    },
  );

  app.put(
    '/applications/:id/answers/:code',
    {
      schema: {
        operationId: 'saveAnswer',
        tags: ['applications'],
        summary:
          'Write the answer to one criterion (applicant member; in draft, awaitingResponse, furtherEvidenceRequested)',
        params: z.strictObject({ id: z.uuid(), code: z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/) }),
        body: z.strictObject({ text: z.string().max(50_000) }),
        response: {
          200: z.object({ code: z.string(), text: z.string(), updatedAt: z.string() }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) =>
      service.saveAnswer(db, caller(request), request.params.id, request.params.code, request.body.text),
  );

  app.post(
    '/applications/:id/events',
    {
      serializerCompiler: uncheckedSuccessSerializer,
      schema: {
        operationId: 'sendApplicationEvent',
        tags: ['applications'],
        summary: 'Send a workflow event (SPEC §4); answers the updated application',
        description:
          'Send `If-Match` with the ETag you read to refuse a stale change (412). 403: the role may not send this event; ' +
          '409: the state does not accept it; 422: a guard refused it, with `blockers`.',
        params: idParams,
        body: applicationEventBody,
        response: { 200: applicationView, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      const { view, validator } = await service.sendEvent(
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
    '/applications/:id/history',
    {
      schema: {
        operationId: 'getApplicationHistory',
        tags: ['applications'],
        summary: 'Every event of the application, downloads included, oldest first',
        params: idParams,
        querystring: z.strictObject({ limit: pageQuery.limit.default(200), cursor: pageQuery.cursor }),
        response: { 200: pageOf(historyItem), ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      service.history(db, caller(request), request.params.id, request.query.limit, request.query.cursor),
  );

  app.get(
    '/applications/:id/reviews',
    {
      schema: {
        operationId: 'listReviews',
        tags: ['applications'],
        summary: 'Individual reviews by round (lead, admin: all; appraiser: their own)',
        params: idParams,
        response: { 200: z.object({ items: z.array(reviewItem) }), ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => service.reviews(db, caller(request), request.params.id),
  );
};
