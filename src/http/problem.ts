import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorCode, ERROR_TITLES as TITLES } from '../domain/errors.ts';
import { methodNotAllowed, trackAllowedMethods } from './methods.ts';

/** The HTTP status of each domain error code (SPEC §5). */
export const PROBLEM_STATUS: Record<ErrorCode, number> = {
  'validation-failed': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'illegal-transition': 409,
  conflict: 409,
  'version-mismatch': 412,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'range-not-satisfiable': 416,
  'guard-failed': 422,
  'idempotency-key-reused': 422,
  'rate-limited': 429,
  internal: 500,
  unavailable: 503,
};

export function problemBody(
  code: ErrorCode,
  detail: string,
  instance?: string,
  extra: Record<string, unknown> = {},
) {
  return {
    type: `https://sanctuary-awards.example/problems/${code}`,
    title: TITLES[code],
    status: PROBLEM_STATUS[code],
    code,
    detail,
    ...(instance ? { instance } : {}),
    ...extra,
  };
}

export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  return reply
    .code(PROBLEM_STATUS[code])
    .type('application/problem+json')
    .send(problemBody(code, detail, reply.request.url, extra));
}

// Node/pg error codes meaning "the database cannot be reached", answered as 503 rather than 500.
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    UNAVAILABLE_ERRNO.has(code) ||
    code.startsWith('08') || // connection exceptions
    code === '57P01' || // admin shutdown
    code === '57P03' || // cannot connect now (starting up)
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/**
 * Postgres refuses NUL characters in text (22021) and \u0000 escapes in jsonb (22P05); both come only
 * from client-supplied strings, so they are bad input (400), not a server fault.
 */
function isInvalidTextInput(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

function fastifyErrorToProblem(err: FastifyError): {
  code: ErrorCode;
  detail: string;
  extra?: Record<string, unknown>;
} {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((v) => ({
      // A root-level issue (e.g. a refine on the whole body) has the instance path "/": name just the context.
      path: `${err.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`.replace(/\.$/, ''),
      message: v.message ?? 'invalid',
    }));
    return {
      code: 'validation-failed',
      detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      extra: { errors },
    };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return { code: 'payload-too-large', detail: err.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { code: 'unsupported-media-type', detail: err.message };
  }
  if (err.statusCode === 429) return { code: 'rate-limited', detail: err.message };
  if (err.statusCode === 413) return { code: 'payload-too-large', detail: err.message };
  if (err.statusCode === 415) return { code: 'unsupported-media-type', detail: err.message };
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    // Bad JSON, empty bodies, malformed headers and the like: all the client's input.
    return { code: err.statusCode === 404 ? 'not-found' : 'validation-failed', detail: err.message };
  }
  return { code: 'internal', detail: 'An unexpected error occurred' };
}

/**
 * Errors the router raises before any hook or error handler runs (a path parameter longer than the
 * router allows, a malformed URL): without this Fastify answers them with its own JSON, not a problem.
 * Found by test/fuzz.
 */
export function frameworkErrorHandler(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(reply, 'validation-failed', err.message);
}

/** Every failure, ours or Fastify's, leaves as application/problem+json with a stable code. */
export function registerProblemHandlers(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof DomainError) {
      return sendProblem(reply, err.code, err.message, err.extra);
    }
    if (isInvalidTextInput(err)) {
      return sendProblem(reply, 'validation-failed', 'Text must not contain NUL (\\u0000) characters');
    }
    if (isDatabaseUnavailable(err)) {
      request.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable');
      reply.header('Retry-After', '5');
      return sendProblem(reply, 'unavailable', 'The database cannot be reached; try again shortly');
    }
    const { code, detail, extra } = fastifyErrorToProblem(err);
    if (code === 'internal') request.log.error({ err }, 'unhandled error');
    return sendProblem(reply, code, detail, extra);
  });
  const allowedMethods = trackAllowedMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = allowedMethods(request.url);
    if (methodNotAllowed(allowed, request.method)) {
      reply.header('Allow', allowed.join(', '));
      return sendProblem(
        reply,
        'method-not-allowed',
        `${path} supports ${allowed.join(', ')}, not ${request.method}`,
      );
    }
    return sendProblem(reply, 'not-found', `No route for ${request.method} ${path}`);
  });
}
