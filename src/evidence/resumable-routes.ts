import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import type { EvidenceStore } from '../storage/store.ts';
import { evidenceDeps } from './deps.ts';
import { applicationParams, evidenceUploadResult } from './schemas.ts';
import { answerTusOptions, passTusBodies, type ResumableIntake } from './tus.ts';

export type ResumableRoutesOptions = {
  db: Db;
  config: Config;
  store: EvidenceStore;
  resumable: ResumableIntake;
};

const uploadParams = z.strictObject({ id: z.uuid(), uploadId: z.string().regex(/^[0-9a-f]{32}$/) });
const tusResumable = z.literal('1.0.0').describe('The tus protocol version: 1.0.0');
const empty = (description: string) => z.null().describe(description);

/**
 * Resumable evidence uploads over tus 1.0 (SPEC §6): the same rules as `POST /applications/{id}/evidence`
 * for one file sent in pieces that survive a dropped connection.
 */
export const resumableRoutes: FastifyPluginAsyncZod<ResumableRoutesOptions> = async (
  app,
  { db, config, store, resumable },
) => {
  const { limits } = config;
  passTusBodies(app);
  const handle = async (
    request: FastifyRequest<{ Params: { id: string; uploadId?: string } }>,
    reply: FastifyReply,
  ) => {
    await resumable.handle(request, reply, {
      deps: evidenceDeps(db, store, config, request.log),
      principal: caller(request),
      applicationId: request.params.id,
      uploadId: request.params.uploadId,
      base: `/applications/${request.params.id}/uploads`,
    });
  };
  const expiryHours = config.resumableUploadExpiryMs / 3_600_000;

  app.post(
    '/applications/:id/uploads',
    {
      schema: {
        operationId: 'createResumableUpload',
        tags: ['evidence'],
        summary:
          'Begin a resumable (tus 1.0) evidence upload (applicant member, while evidence can be added)',
        description:
          'tus 1.0 creation. `Upload-Length` (required; deferred lengths are not offered) is checked against ' +
          `the limit of ${limits.maxFileBytes} bytes a file (a \`.zip\` of criterion folders: the zip limit), and reserved ` +
          `against the application's ${limits.maxApplicationBytes} bytes together with the stored evidence and the ` +
          'other unfinished uploads (413 `payload-too-large` naming the limit). `Upload-Metadata` carries `filename`, ' +
          '`criteria` (comma-separated criterion codes; `criterion` is read too) and, for a file of a chosen folder, ' +
          '`relativePath` (filed by its folders as a folder upload is, the criteria as the default). A name that ' +
          'promises markup or code answers 415 at once. 201 with `Location` (the upload URL) and `Upload-Expires`: ' +
          `an unfinished upload expires ${expiryHours} hours after its creation and its bytes are removed.`,
        params: applicationParams,
        headers: z.looseObject({
          'tus-resumable': tusResumable,
          'upload-length': z.string().regex(/^\d+$/).describe('The size of the whole file in bytes'),
          'upload-metadata': z
            .string()
            .optional()
            .describe('`key base64(value)` pairs, comma-separated: filename, criteria, relativePath'),
        }),
        response: {
          201: empty('Created: `Location` is the upload URL, `Upload-Expires` when it expires'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    (request, reply) => handle(request, reply),
  );

  app.head(
    '/applications/:id/uploads/:uploadId',
    {
      schema: {
        operationId: 'getResumableUploadOffset',
        tags: ['evidence'],
        summary: 'How much of a resumable upload the server has (the offset to resume from)',
        description:
          'tus 1.0 HEAD: 200 with `Upload-Offset` (the bytes stored so far, also after a dropped connection or a ' +
          'restart of the server), `Upload-Length`, `Upload-Expires` and `Cache-Control: no-store`. An upload ' +
          'of someone else, finished, terminated or expired is 404.',
        params: uploadParams,
        headers: z.looseObject({ 'tus-resumable': tusResumable }),
        response: {
          200: empty('`Upload-Offset` and `Upload-Length`'),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    (request, reply) => handle(request, reply),
  );

  app.patch(
    '/applications/:id/uploads/:uploadId',
    {
      schema: {
        operationId: 'continueResumableUpload',
        tags: ['evidence'],
        summary: 'Send the next bytes of a resumable upload',
        description:
          'tus 1.0 PATCH with `Content-Type: application/offset+octet-stream` and `Upload-Offset` equal to the ' +
          "server's (else 409 `conflict`). 204 with the new `Upload-Offset` while bytes are missing. The PATCH that " +
          'completes the file files it through the same checks as a multipart upload (type from the bytes and the ' +
          'name, limits, SHA-256, duplicates, history) and answers 200 with the evidence item, or the same problem ' +
          'as a multipart upload would (415 for a refused type, 413, 400), the partial upload removed either way.\n\n' +
          '`HEAD` on the same URL (tus core; OpenAPI lists no HEAD operations) answers 200 with `Upload-Offset`, the ' +
          'bytes stored so far (also after a dropped connection or a restart of the server): resume from there. ' +
          "`Upload-Length`, `Upload-Expires` and `Cache-Control: no-store` come with it; someone else's, finished, " +
          'terminated or expired uploads are 404.',
        consumes: ['application/offset+octet-stream'],
        params: uploadParams,
        headers: z.looseObject({
          'tus-resumable': tusResumable,
          'upload-offset': z.string().regex(/^\d+$/).describe('Where these bytes start'),
        }),
        body: z.any().describe('The bytes from Upload-Offset on'),
        response: {
          200: evidenceUploadResult,
          204: empty('Stored: `Upload-Offset` is the new offset'),
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    (request, reply) => handle(request, reply),
  );

  app.delete(
    '/applications/:id/uploads/:uploadId',
    {
      schema: {
        operationId: 'terminateResumableUpload',
        tags: ['evidence'],
        summary: 'Abandon a resumable upload (tus termination): its bytes and its reservation go',
        params: uploadParams,
        headers: z.looseObject({ 'tus-resumable': tusResumable }),
        response: { 204: empty('Terminated'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    (request, reply) => handle(request, reply),
  );

  for (const url of ['/applications/:id/uploads', '/applications/:id/uploads/:uploadId']) {
    app.options(
      url,
      {
        config: { public: true },
        schema: {
          operationId: url.endsWith('uploadId') ? 'describeResumableUpload' : 'describeResumableUploads',
          tags: ['evidence'],
          summary: 'The tus protocol this server speaks',
          description:
            'tus 1.0 OPTIONS: `Tus-Version`, `Tus-Extension` (creation, termination, expiration) and `Tus-Max-Size`.',
          security: [],
          params: url.endsWith('uploadId') ? uploadParams : applicationParams,
          response: { 204: empty('`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`') },
        },
      },
      async (_request, reply) => {
        answerTusOptions(reply, limits.maxFileBytes);
      },
    );
  }
};
