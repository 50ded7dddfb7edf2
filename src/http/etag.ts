import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { validationFailed } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { ViewValidator } from '../workflow/types.ts';

/**
 * Applications and awards carry a `version`; their ETag is `W/"<version>-<tag>"`. The view also depends
 * on who asks (allowedEvents, blockers, what of the panel they see) and on other records (answers,
 * evidence, names), so the tag hashes the caller's identity and grants with the view's stamp (see
 * ViewValidator): two callers never share an ETag unless they share the view, and a revalidation
 * (`If-None-Match`) answers 304 only while the caller's view is unchanged. `If-Match` compares versions
 * only: it guards a change against another change, whoever reads.
 *
 * The tag is salted per process, so a new release never validates a view the previous one rendered
 * (another instance's ETag simply misses and gets the whole view).
 */
const SALT = randomBytes(8).toString('base64url');

// Principals are cached per token (src/users/tokens.ts): the key of each is worked out once.
const callerKeys = new WeakMap<Principal, string>();
function callerKey(p: Principal): string {
  let key = callerKeys.get(p);
  if (key === undefined) {
    const grants = p.grants.map((g) => `${g.role}:${g.areaId ?? ''}:${g.organisationId ?? ''}`).sort();
    key = `${p.userId}|${grants.join(',')}`;
    callerKeys.set(p, key);
  }
  return key;
}

/** The ETag of a view as `p` sees it. */
export function viewEtag(validator: ViewValidator, p: Principal): string {
  const tag = createHash('sha256')
    .update(`${SALT}|${validator.stamp}|${callerKey(p)}`)
    .digest('base64url')
    .slice(0, 16);
  return `W/"${validator.version}-${tag}"`;
}

/** The OpenAPI description of a view that may be revalidated. */
export const REVALIDATION_NOTE =
  'Carries an `ETag` (`W/"<version>-<tag>"`) for the caller\'s view: send it back in `If-None-Match` to get ' +
  '304 Not Modified, without a body, while that view is unchanged. Send it in `If-Match` when changing ' +
  'the resource to refuse a stale change (412): only its version counts there.';

/** The 304 answer's schema: no body. */
export const NOT_MODIFIED = z
  .null()
  .describe("Not Modified: the caller's view is the one its If-None-Match names");

/** An ETag naming only a version: for views of the past (`?asOf=`), never revalidated. */
export const versionEtag = (version: number) => `W/"${version}"`;

export function setViewHeaders(reply: FastifyReply, validator: ViewValidator, p: Principal) {
  reply.header('ETag', viewEtag(validator, p));
}

/**
 * Answers 304 when the request's `If-None-Match` names the current ETag of the caller's view (or `*`):
 * `current` reads the view's validator (and throws not-found out of the caller's scope); without the
 * header nothing is read. Returns whether it answered; the route then returns the reply as it is.
 */
export async function answeredNotModified(
  request: FastifyRequest,
  reply: FastifyReply,
  p: Principal,
  current: () => Promise<ViewValidator>,
): Promise<boolean> {
  const header = request.headers['if-none-match'];
  if (typeof header !== 'string' || header.trim() === '') return false;
  const validator = await current();
  const etag = viewEtag(validator, p);
  if (!matchesAny(header, etag)) return false;
  reply.code(304).header('ETag', etag).send();
  return true;
}

/** Weak comparison (RFC 9110 §8.8.3.2) of each entity tag of an If-None-Match list with `etag`. */
function matchesAny(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}

/**
 * The version an `If-Match` header names (`W/"3-…"`, `W/"3"`, `"3"` or `3`), undefined when absent or
 * `*`: the caller part of the ETag does not matter there.
 */
export function expectedVersionFrom(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})(?:-[A-Za-z0-9_-]{1,64})?"?\s*$/.exec(header);
  if (!match) {
    throw validationFailed('If-Match must be the ETag you read, e.g. W/"3-…"', [
      { path: 'headers.if-match', message: 'not an ETag of this API' },
    ]);
  }
  return Number(match[1]);
}
