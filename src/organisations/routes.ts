import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { CSV_NOTE, type CsvColumn, sendCsv, wantsCsv } from '../http/csv.ts';
import { problemResponses } from '../http/openapi.ts';
import { pageOf, pageQuery, sortQuery } from '../http/pagination.ts';
import { emailAddress, invitationSent, userView } from '../users/schemas.ts';
import { ORGANISATION_SORT_KEYS } from './repository.ts';
import * as service from './service.ts';

const idParams = z.strictObject({ id: z.uuid() });
const text = (max: number) => z.string().trim().min(1).max(max);

const orgFields = {
  name: text(300),
  streamId: z.uuid(),
  areaId: z.uuid(),
  phase: text(100).nullable().optional().describe('e.g. primary, secondary, nursery, special'),
  urn: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]{1,20}$/, 'a school URN or similar reference: letters, digits and dashes')
    .nullable()
    .optional(),
  website: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullable()
    .optional(),
};
export const createOrganisationBody = z.strictObject(orgFields);
const patchOrganisationBody = z
  .strictObject({
    ...orgFields,
    name: orgFields.name.optional(),
    streamId: orgFields.streamId.optional(),
    areaId: orgFields.areaId.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');

export const pledgeView = z
  .object({ signatoryName: z.string(), signatoryRole: z.string(), signedBy: z.uuid(), signedAt: z.string() })
  .meta({ id: 'Pledge' });

export const organisationView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    streamId: z.uuid(),
    areaId: z.uuid(),
    phase: z.string().nullable(),
    urn: z.string().nullable(),
    website: z.string().nullable(),
    pledge: pledgeView.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Organisation' });

type OrganisationView = z.infer<typeof organisationView>;
export const ORGANISATION_CSV_COLUMNS: CsvColumn<OrganisationView>[] = [
  ...(['id', 'name', 'streamId', 'areaId', 'phase', 'urn', 'website'] as const).map((header) => ({ header })),
  { header: 'pledgeSignedAt', value: (o) => o.pledge?.signedAt },
  { header: 'pledgeSignatoryName', value: (o) => o.pledge?.signatoryName },
  { header: 'pledgeSignatoryRole', value: (o) => o.pledge?.signatoryRole },
  { header: 'createdAt' },
  { header: 'updatedAt' },
];

const addMemberBody = z.union([
  z.strictObject({ userId: z.uuid() }),
  z.strictObject({ email: emailAddress, name: text(200) }),
]);

export const organisationRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/organisations',
    {
      schema: {
        operationId: 'createOrganisation',
        tags: ['organisations'],
        summary: 'Register an organisation (admin; a lead in their own areas)',
        body: createOrganisationBody,
        response: { 201: organisationView, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const org = await service.createOrganisation(db, caller(request), request.body);
      return reply.code(201).header('Location', `/organisations/${org.id}`).send(org);
    },
  );

  app.get(
    '/organisations',
    {
      schema: {
        operationId: 'listOrganisations',
        tags: ['organisations'],
        summary: 'Organisations the caller may see',
        description: CSV_NOTE,
        querystring: z.strictObject({
          areaId: z.uuid().optional(),
          streamId: z.uuid().optional(),
          stream: z.string().max(60).optional().describe('Stream id or slug, e.g. schools'),
          q: z.string().max(200).optional().describe('Text in the name (case-insensitive)'),
          pledged: z.enum(['true', 'false']).optional(),
          updatedSince: z.iso
            .datetime({ offset: true })
            .optional()
            .describe('Only organisations changed at or after this instant'),
          sort: sortQuery(ORGANISATION_SORT_KEYS),
          ...pageQuery,
        }),
        response: { 200: pageOf(organisationView), ...problemResponses(400, 401) },
      },
    },
    async (request, reply) => {
      const p = caller(request);
      if (!wantsCsv(request)) return service.listOrganisations(db, p, request.query);
      return sendCsv(reply, {
        filename: 'organisations.csv',
        columns: ORGANISATION_CSV_COLUMNS,
        cursor: request.query.cursor,
        fetchPage: (cursor, limit) => service.listOrganisations(db, p, { ...request.query, cursor, limit }),
      });
    },
  );

  app.get(
    '/organisations/:id',
    {
      schema: {
        operationId: 'getOrganisation',
        tags: ['organisations'],
        summary: 'One organisation',
        params: idParams,
        response: { 200: organisationView, ...problemResponses(401, 404) },
      },
    },
    async (request) => service.getOrganisation(db, caller(request), request.params.id),
  );

  app.patch(
    '/organisations/:id',
    {
      schema: {
        operationId: 'updateOrganisation',
        tags: ['organisations'],
        summary: 'Change an organisation (admin, the area lead)',
        params: idParams,
        body: patchOrganisationBody,
        response: { 200: organisationView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => service.updateOrganisation(db, caller(request), request.params.id, request.body),
  );

  app.get(
    '/organisations/:id/members',
    {
      schema: {
        operationId: 'listMembers',
        tags: ['organisations'],
        summary: "The organisation's applicant members",
        params: idParams,
        response: { 200: z.object({ items: z.array(userView) }), ...problemResponses(401, 404) },
      },
    },
    async (request) => ({ items: await service.listMembers(db, caller(request), request.params.id) }),
  );

  app.post(
    '/organisations/:id/members',
    {
      schema: {
        operationId: 'addMember',
        tags: ['organisations'],
        summary:
          'Add an applicant member: an existing user by id, or a person by email and name (admin, the area lead)',
        description:
          'An admin adds anyone at once (201; a new address gets an account and an e-mailed invitation to sign in). A lead adds someone already in their scope at once (201); anyone else named by e-mail is invited (202) and e-mailed the invitation, with the same answer and the same e-mail whether or not the address already has an account.',
        params: idParams,
        body: addMemberBody,
        response: { 201: userView, 202: invitationSent, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const added = await service.addMember(
        db,
        caller(request),
        request.params.id,
        request.body,
        request.server.signIn,
      );
      if ('invitation' in added) return reply.code(202).send(added);
      return reply.code(201).send(added.member);
    },
  );

  app.post(
    '/organisations/:id/pledge',
    {
      schema: {
        operationId: 'signPledge',
        tags: ['organisations'],
        summary: 'Sign the City of Sanctuary pledge (an applicant member)',
        params: idParams,
        body: z.strictObject({ signatoryName: text(200), signatoryRole: text(200) }),
        response: { 201: pledgeView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await service.signPledge(db, caller(request), request.params.id, request.body)),
  );
};
