import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery } from '../http/pagination.ts';
import { describeCaller } from './me.ts';
import {
  createUserBody,
  issuedTokenView,
  issueTokenBody,
  listUsersQuery,
  tokenView,
  userView,
} from './schemas.ts';
import * as service from './service.ts';

const idParams = z.strictObject({ id: z.uuid() });

export const meView = userView
  .extend({
    areas: z.array(z.object({ id: z.uuid(), name: z.string() })),
    organisations: z.array(
      z.object({ id: z.uuid(), name: z.string(), areaId: z.uuid(), streamId: z.uuid() }),
    ),
  })
  .meta({ id: 'Me' });

export const userRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/me',
    {
      schema: {
        operationId: 'getMe',
        tags: ['users'],
        summary: 'The caller, their grants, areas and organisations',
        response: { 200: meView, ...problemResponses(401) },
      },
    },
    async (request) => describeCaller(db, caller(request)),
  );

  app.post(
    '/users',
    {
      schema: {
        operationId: 'createUser',
        tags: ['users'],
        summary: 'Create a user with grants (admin; a lead for applicants and appraisers of their area)',
        body: createUserBody,
        response: { 201: userView, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await service.createUser(db, caller(request), request.body);
      return reply.code(201).header('Location', `/users/${user.id}`).send(user);
    },
  );

  app.get(
    '/users',
    {
      schema: {
        operationId: 'listUsers',
        tags: ['users'],
        summary: 'Users the caller may see',
        querystring: listUsersQuery.extend(pageQuery),
        response: { 200: pageOf(userView), ...problemResponses(400, 401) },
      },
    },
    async (request) => service.listUsers(db, caller(request), request.query),
  );

  app.get(
    '/users/:id',
    {
      schema: {
        operationId: 'getUser',
        tags: ['users'],
        summary: 'One user',
        params: idParams,
        response: { 200: userView, ...problemResponses(401, 404) },
      },
    },
    async (request) => service.getUser(db, caller(request), request.params.id),
  );

  app.post(
    '/users/:id/tokens',
    {
      // The answer holds the token itself: never stored for Idempotency-Key replays.
      config: { secretInResponse: true },
      schema: {
        operationId: 'issueToken',
        tags: ['tokens'],
        summary:
          'Issue an API token, shown once (admin; the user themself; a lead for a user whose grants all lie in their areas)',
        params: idParams,
        body: issueTokenBody,
        response: { 201: issuedTokenView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const token = await service.issueTokenFor(
        db,
        caller(request),
        request.params.id,
        request.body?.expiresInDays,
      );
      return reply.code(201).header('Cache-Control', 'no-store').send(token);
    },
  );

  app.get(
    '/users/:id/tokens',
    {
      schema: {
        operationId: 'listTokens',
        tags: ['tokens'],
        summary: "A user's tokens (never the token itself)",
        params: idParams,
        response: { 200: z.object({ items: z.array(tokenView) }), ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => ({ items: await service.listTokensOf(db, caller(request), request.params.id) }),
  );

  app.delete(
    '/tokens/:id',
    {
      schema: {
        operationId: 'revokeToken',
        tags: ['tokens'],
        summary: 'Revoke a token',
        params: idParams,
        response: { 204: z.null(), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.revokeTokenById(db, caller(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
