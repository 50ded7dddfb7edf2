import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';
import { caller } from '../http/auth.ts';
import { problemResponses } from '../http/openapi.ts';
import { sendProblem } from '../http/problem.ts';
import type { EvidenceStore } from '../storage/store.ts';
import { evidenceDeps } from './deps.ts';
import { PLAIN_TEXT } from './media-types.ts';
import { closeUnreadUpload, multipartOptions, multipartUpload } from './multipart.ts';
import {
  applicationParams,
  evidenceList,
  evidenceParams,
  evidenceUploadResult,
  evidenceView,
  listEvidenceQuery,
  uploadEvidenceBody,
} from './schemas.ts';
import * as service from './service.ts';

export type EvidenceRoutesOptions = { db: Db; config: Config; store: EvidenceStore };

/**
 * `attachment` (or `inline`, for a file a page shows) with an ASCII fallback name and the exact name in
 * RFC 5987 form (RFC 6266).
 */
export function contentDisposition(filename: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const fallback =
    filename
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\x20-\x7e]/g, '_')
      .replace(/["\\%;]/g, '_')
      .trim() || 'file';
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * Evidence files of an application (SPEC §5, §6). The multipart parser is registered here, inside this
 * plugin's encapsulation context, so other routes keep answering non-JSON bodies with 415.
 */
export const evidenceRoutes: FastifyPluginAsyncZod<EvidenceRoutesOptions> = async (
  app,
  { db, config, store },
) => {
  const { limits, zipLimits } = config;
  await app.register(multipart, multipartOptions(config));

  const deps = (request: FastifyRequest) => evidenceDeps(db, store, config, request.log);

  app.post(
    '/applications/:id/evidence',
    {
      schema: {
        operationId: 'uploadEvidence',
        tags: ['evidence'],
        summary: 'Upload evidence files (applicant member, while evidence can be added)',
        description:
          'multipart/form-data: a `criteria` field (comma-separated criterion codes of this application) first, ' +
          'then one or more files. The type is detected from the bytes (PDF, JPEG, PNG, WebP, HEIC, GIF, MP4, MOV, ' +
          'MP3, M4A, DOCX, XLSX, PPTX, ODT, ODS, ODP, UTF-8 plain text); anything else answers 415. The name must ' +
          'agree with the bytes: a name that promises markup, code or a link to run (`.html`, `.htm`, `.svg`, `.xml`, ' +
          '`.js`, `.mjs`, `.php`, `.py`, `.sh`, `.ps1`, `.bat`, `.cmd`, `.exe`, `.msi`, `.hta`, `.vbs`, `.wsf`, `.jar`, ' +
          '`.lnk`, `.url`, `.reg`, macro-enabled Office names …) answers 415 whatever the file holds; plain text is ' +
          'accepted only under `.txt`, `.csv` or `.md` (or no extension), else 415. A file is stored under the extension ' +
          'of its detected type, keeping its base name (`photo.pdf` holding a JPEG is `photo.jpg`, `notes` holding text ' +
          'is `notes.txt`): that is the `filename` returned. A 415 names the file in `detail` and `filename`. Limits: ' +
          `${limits.maxFileBytes} bytes a file, ${limits.maxApplicationBytes} bytes an application, ` +
          `${limits.maxFilesPerRequest} files a request (413). Bytes the application already has are stored ` +
          'once: the existing item is returned with the new criteria added. On any error nothing of the request is kept.\n\n' +
          'A plain `.zip` (no `criteria` field needed) is a folder of evidence: its top folders are criterion codes ' +
          '(`L1/`, `E2/`) or process names (`Learn/`, `Embed/`, `Share/`, any case; one wrapping folder is looked ' +
          'through); files elsewhere are listed in `skipped`. The whole archive is refused, naming the entry, for ' +
          'path traversal, absolute paths, links, encrypted entries, nested archives (400 with `entry` and `reason`), ' +
          'a refused type or name (415, the same rules as for a file on its own), or a decompression bomb (413 with ' +
          `\`limit\` and \`limitValue\`): more than ${zipLimits.maxEntries} entries, an entry over ${limits.maxFileBytes} bytes, ` +
          `entries together over ${zipLimits.maxUncompressedBytes} bytes unpacked, or an entry or the whole archive ` +
          `expanding over ${zipLimits.maxCompressionRatio} times (from 1 MiB unpacked); ` +
          `a zip may be up to ${zipLimits.maxZipBytes} bytes.\n\n` +
          'A folder (what a browser sends for `<input type=file webkitdirectory multiple>`): when no `criteria` ' +
          'field is sent and the files are named by relative paths (`Evidence/L1/photo.jpg`), each file is filed by ' +
          'its folders as a zip entry is: its top folder a criterion code or process name, or the folder below ' +
          'when the top one (the chosen folder) names neither; files elsewhere, and the files operating systems ' +
          'add (`.DS_Store`, `Thumbs.db` …), are listed in `skipped`, and a folder with no file in a criterion or ' +
          'process folder is refused (400). A file is stored under its base name. With a `criteria` field every ' +
          'file is filed under those criteria, whatever its path. A file part with an empty name (an empty file ' +
          'input) is ignored.',
        consumes: ['multipart/form-data'],
        params: applicationParams,
        body: uploadEvidenceBody,
        response: { 201: evidenceUploadResult, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
      },
      // Before body validation, so a JSON body is named as the wrong media type rather than a wrong shape.
      preValidation: async (request) => {
        if (!request.isMultipart())
          throw new DomainError('unsupported-media-type', 'Send the evidence as multipart/form-data');
      },
      onSend: closeUnreadUpload,
    },
    async (request, reply) => {
      const result = await service.uploadEvidence(
        deps(request),
        caller(request),
        request.params.id,
        multipartUpload(request.parts(), limits),
      );
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/applications/:id/evidence',
    {
      schema: {
        operationId: 'listEvidence',
        tags: ['evidence'],
        summary: 'Evidence files of an application (everyone who can see the application)',
        params: applicationParams,
        querystring: listEvidenceQuery,
        response: { 200: evidenceList, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      items: await service.listEvidence(db, caller(request), request.params.id, request.query),
    }),
  );

  app.get(
    '/applications/:id/evidence/archive',
    {
      schema: {
        operationId: 'downloadEvidenceArchive',
        tags: ['evidence'],
        summary: 'All evidence files of the application as one zip (recorded in the history)',
        description:
          'A folder per criterion code; a file filed under several criteria is in each. Streamed as it is built ' +
          '(no Content-Length). Files removed by retention are not included.',
        params: applicationParams,
        response: { 200: z.any().describe('application/zip'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { filename, stream } = await service.downloadEvidenceArchive(
        deps(request),
        caller(request),
        request.params.id,
      );
      return reply
        .header('Content-Type', 'application/zip')
        .header('Content-Disposition', contentDisposition(filename))
        .header('X-Content-Type-Options', 'nosniff')
        .header('Cache-Control', 'private, no-store')
        .send(stream);
    },
  );

  app.get(
    '/applications/:id/evidence/:eid',
    {
      schema: {
        operationId: 'getEvidence',
        tags: ['evidence'],
        summary: 'Metadata of one evidence file',
        params: evidenceParams,
        response: { 200: evidenceView, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => service.getEvidence(db, caller(request), request.params.id, request.params.eid),
  );

  app.get(
    '/applications/:id/evidence/:eid/content',
    {
      schema: {
        operationId: 'downloadEvidence',
        tags: ['evidence'],
        summary: 'Download an evidence file (recorded in the application history)',
        description:
          'Always `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, `ETag` = the quoted SHA-256. ' +
          'One range (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`, honouring `If-Range`) answers 206; a range ' +
          'starting past the end answers 416 (`range-not-satisfiable`) with `Content-Range: bytes */size`; ' +
          'several ranges are ignored (200 with the whole file). Every GET is recorded as EVIDENCE_DOWNLOADED.',
        params: evidenceParams,
        response: {
          200: z.any().describe('The file, with the media type detected at upload'),
          206: z.any().describe('The requested byte range'),
          ...problemResponses(400, 401, 403, 404, 416),
        },
      },
    },
    async (request, reply) => {
      const ifRange = request.headers['if-range'];
      const { item, range, stream } = await service.downloadEvidence(
        deps(request),
        caller(request),
        request.params.id,
        request.params.eid,
        (file) =>
          // An If-Range naming another version (or a date: our ETags are strong) asks for the whole file.
          ifRange !== undefined && ifRange !== `"${file.sha256}"`
            ? { kind: 'full' }
            : service.parseRange(request.headers.range, file.size),
        request.method !== 'HEAD',
      );
      reply
        .header('ETag', `"${item.sha256}"`)
        .header('Accept-Ranges', 'bytes')
        .header('X-Content-Type-Options', 'nosniff')
        .header('Cache-Control', 'private, no-store')
        // Should a browser render it anyway, nothing in it may run.
        .header('Content-Security-Policy', "default-src 'none'; sandbox");
      if (range.kind === 'unsatisfiable') {
        reply.header('Content-Range', `bytes */${item.size}`);
        return sendProblem(reply, 'range-not-satisfiable', `The file has ${item.size} bytes`);
      }
      reply
        .header('Content-Type', item.mediaType === PLAIN_TEXT ? 'text/plain; charset=utf-8' : item.mediaType)
        .header('Content-Disposition', contentDisposition(item.filename));
      if (range.kind === 'partial') {
        const { start, end } = range.range;
        reply
          .code(206)
          .header('Content-Range', `bytes ${start}-${end}/${item.size}`)
          .header('Content-Length', String(end - start + 1));
      } else {
        reply.code(200).header('Content-Length', String(item.size));
      }
      return reply.send(stream ?? '');
    },
  );

  app.get(
    '/applications/:id/evidence/:eid/preview',
    {
      schema: {
        operationId: 'previewEvidence',
        tags: ['evidence'],
        summary: 'A small WebP preview of an evidence image (recorded in the application history)',
        description:
          'Made when a JPEG, PNG, WebP or GIF is stored: at most 320 pixels a side, turned upright, without ' +
          'metadata. The same rule as the file (whoever may read the evidence); 404 when the item has no preview ' +
          '(`hasPreview` false: another type, an image that could not be decoded, or a file removed). Recorded as ' +
          'EVIDENCE_DOWNLOADED with `preview: true`. Cacheable privately: a preview never changes.',
        params: evidenceParams,
        response: {
          200: z.any().describe('image/webp'),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { item, mediaType, stream } = await service.openEvidencePreview(
        deps(request),
        caller(request),
        request.params.id,
        request.params.eid,
        request.method !== 'HEAD',
      );
      return reply
        .header('Content-Type', mediaType)
        .header('ETag', `"${item.sha256}-preview"`)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Cache-Control', 'private, max-age=86400')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .send(stream ?? '');
    },
  );

  app.delete(
    '/applications/:id/evidence/:eid',
    {
      schema: {
        operationId: 'deleteEvidence',
        tags: ['evidence'],
        summary: 'Delete an evidence file (applicant member or admin; only in a draft never submitted)',
        params: evidenceParams,
        response: { 204: z.null().describe('Deleted'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await service.deleteEvidence(deps(request), caller(request), request.params.id, request.params.eid);
      return reply.code(204).send(null);
    },
  );
};
