/**
 * Errors the services throw. Each has a stable code; the doors map it to what their people see: the
 * API to an RFC 9457 problem document (src/http/problem.ts), the web pages to an HTML page.
 * Nothing here knows about HTTP.
 */
export const ERROR_CODES = [
  'validation-failed',
  'unauthenticated',
  'forbidden',
  'not-found',
  'method-not-allowed',
  'illegal-transition',
  'conflict',
  'version-mismatch',
  'payload-too-large',
  'unsupported-media-type',
  'range-not-satisfiable',
  'guard-failed',
  'idempotency-key-reused',
  'rate-limited',
  'internal',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What each code means, in a few words: the default detail, and the problem document's title. */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  'validation-failed': 'The request is not valid',
  unauthenticated: 'Authentication is required',
  forbidden: 'You may not do this',
  'not-found': 'Not found',
  'method-not-allowed': 'The method is not supported by this path',
  'illegal-transition': 'That event does not apply in the current state',
  conflict: 'The request conflicts with existing data',
  'version-mismatch': 'The resource has changed since you read it',
  'payload-too-large': 'The request is too large',
  'unsupported-media-type': 'Unsupported media type',
  'range-not-satisfiable': 'The requested range is not satisfiable',
  'guard-failed': 'The event is blocked',
  'idempotency-key-reused': 'The Idempotency-Key was used with a different request',
  'rate-limited': 'Too many requests',
  internal: 'Internal error',
  unavailable: 'The service is unavailable',
};

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Machine-readable details that travel with the error (e.g. `blockers`, `limit`, `currentVersion`). */
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extra: Record<string, unknown> = {}) {
    super(detail ?? ERROR_TITLES[code]);
    this.name = 'DomainError';
    this.code = code;
    this.extra = extra;
  }
}

export const notFound = (what = 'resource') => new DomainError('not-found', `No such ${what}`);
export const forbidden = (detail?: string) => new DomainError('forbidden', detail);
export const conflict = (detail: string, extra?: Record<string, unknown>) =>
  new DomainError('conflict', detail, extra);
export const validationFailed = (detail: string, errors?: { path: string; message: string }[]) =>
  new DomainError('validation-failed', detail, errors ? { errors } : {});

/** A workflow guard refused the event: its reasons, in plain words, travel as `blockers`. */
export const guardFailed = (detail: string, blockers: string[]) =>
  new DomainError('guard-failed', detail, { blockers });

export const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;
