import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { PrincipalCache } from '../users/tokens.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers without a token (health, docs, the public register). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Counts failed authentications per client address in one-minute windows. */
class FailedAuthLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  blocked(key: string, now = Date.now()): number | null {
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) return null;
    return w.count >= this.max ? Math.ceil((w.start + 60_000 - now) / 1000) : null;
  }
  fail(key: string, now = Date.now()) {
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) this.windows.set(key, { start: now, count: 1 });
    else w.count++;
    if (this.windows.size > 10_000) {
      for (const [k, v] of this.windows) if (now - v.start >= 60_000) this.windows.delete(k);
    }
  }
}

/**
 * Authenticates every request that carries a bearer token; routes not marked `public` require one.
 * Repeated bad tokens from one address are answered 429 for the rest of the minute.
 */
export function registerAuth(
  app: FastifyInstance,
  db: Db,
  options: { failuresPerMinute: number; cacheTtlMs: number },
) {
  const limiter = new FailedAuthLimiter(options.failuresPerMinute);
  const principals = new PrincipalCache(options.cacheTtlMs);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const header = request.headers.authorization;
    // Unknown routes fall through to the 404 problem, token or not.
    const isPublic = request.routeOptions.config?.public === true || request.is404;
    if (!header) {
      if (isPublic) return;
      throw new DomainError('unauthenticated', 'Send an API token as "Authorization: Bearer <token>"');
    }
    const retryAfter = limiter.blocked(request.ip);
    if (retryAfter !== null) {
      reply.header('Retry-After', String(retryAfter));
      throw new DomainError(
        'rate-limited',
        'Too many failed authentications from this address; wait a minute',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = match && match[1].length <= 200 ? await principals.lookup(db, match[1]) : null;
    if (!principal) {
      limiter.fail(request.ip);
      throw new DomainError('unauthenticated', 'The token is not valid, has expired or was revoked');
    }
    request.principal = principal;
  });
}

/** The caller of a route that requires authentication (the hook guarantees one). */
export function caller(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthenticated');
  return request.principal;
}
