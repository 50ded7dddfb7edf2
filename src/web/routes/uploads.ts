import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import { DomainError, notFound } from '../../domain/errors.ts';
import { evidenceDeps } from '../../evidence/deps.ts';
import { answerTusOptions, passTusBodies, type ResumableIntake } from '../../evidence/tus.ts';
import { PROBLEM_STATUS } from '../../http/problem.ts';
import type { EvidenceStore } from '../../storage/store.ts';
import { translator } from '../i18n.ts';
import { uploadErrorText } from '../journey.ts';
import { requirePerson, SignInRequired } from '../pages.ts';

export type UploadRoutesOptions = {
  db: Db;
  config: Config;
  store: EvidenceStore;
  resumable: ResumableIntake;
};

const TUS_CLIENT = createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js');
const params = z.object({
  id: z.uuid(),
  uploadId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .optional(),
});

/**
 * The criterion page's resumable uploads (its script sends files through tus when it can): the same
 * tus door as the API, for the signed-in person of the session, every request carrying the page's
 * CSRF token in `X-CSRF-Token`. A refusal answers JSON `{ message }` in the page's language, for the
 * script to show in the page's error summary.
 */
export async function uploadRoutes(
  app: FastifyInstance,
  { db, config, store, resumable }: UploadRoutesOptions,
) {
  passTusBodies(app);

  app.get('/static/tus.min.js', (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(createReadStream(TUS_CLIENT)),
  );

  app.setErrorHandler((err, request, reply) => {
    const locale = request.visitor?.locale ?? 'en';
    const status =
      err instanceof DomainError
        ? PROBLEM_STATUS[err.code]
        : err instanceof SignInRequired
          ? 401
          : // A missing or wrong CSRF token, a malformed request.
            (err as { statusCode?: number }).statusCode && (err as { statusCode: number }).statusCode < 500
            ? (err as { statusCode: number }).statusCode
            : 500;
    if (status >= 500) request.log.error({ err }, 'resumable upload failed');
    else request.log.info({ err }, 'resumable upload refused');
    const message = uploadErrorText(translator(locale), locale, err, config.limits);
    return reply.code(status).type('application/json').send({ message });
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const person = requirePerson(request);
    const parsed = params.safeParse(request.params);
    if (!parsed.success) throw notFound('upload');
    const { id, uploadId } = parsed.data;
    return resumable.handle(request, reply, {
      deps: evidenceDeps(db, store, config, request.log),
      principal: person.principal,
      applicationId: id,
      uploadId,
      base: `/apply/${id}/uploads`,
    });
  };
  // POST is checked by the pages' own hook; the other tus methods change (or reveal) an upload too.
  const csrf = { onRequest: app.csrfProtection };
  app.post('/apply/:id/uploads', handle);
  app.head('/apply/:id/uploads/:uploadId', csrf, handle);
  app.patch('/apply/:id/uploads/:uploadId', csrf, handle);
  app.delete('/apply/:id/uploads/:uploadId', csrf, handle);
  app.options('/apply/:id/uploads/:uploadId', (_request, reply) =>
    answerTusOptions(reply, config.limits.maxFileBytes),
  );
}
