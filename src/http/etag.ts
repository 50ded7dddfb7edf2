import type { FastifyReply, FastifyRequest } from 'fastify';
import { validationFailed } from '../domain/errors.ts';

/**
 * Applications and awards carry a `version`; their ETag is that version. It is weak because the body
 * also depends on who asks (allowedEvents), while the version says whether the resource changed.
 */
export const etagOf = (version: number) => `W/"${version}"`;

export function setVersionHeaders(reply: FastifyReply, version: number) {
  reply.header('ETag', etagOf(version));
}

/** The version an `If-Match` header names (`W/"3"`, `"3"` or `3`), undefined when absent or `*`. */
export function expectedVersionFrom(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) {
    throw validationFailed('If-Match must be the ETag you read, e.g. W/"3"', [
      { path: 'headers.if-match', message: 'not an ETag of this API' },
    ]);
  }
  return Number(match[1]);
}
