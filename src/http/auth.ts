import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { hashToken, PrincipalCache } from '../users/tokens.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers without a token (health, docs, the public register). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Counts failed authentications per key (a client address, a presented credential) in one-minute windows. */
class FailedAuthLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  /** Seconds until the key may try again, or null when it is not blocked. */
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
 * A valid token is always accepted: throttling never locks out its holder, so nobody can lock another
 * person out by failing from their address. Failures are counted per client address and per presented
 * credential separately; past the limit either one answers 429 for the rest of the minute, without
 * saying whether the credential was valid. The client address is the socket's, or X-Forwarded-For's
 * only when the request comes from a configured proxy (TRUST_PROXY).
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
    // Public routes answer everyone alike and ignore credentials; unknown routes fall through to the
    // 404 (or 405) problem, token or not.
    if (request.routeOptions.config?.public === true || request.is404) return;
    if (!header) {
      throw new DomainError('unauthenticated', 'Send an API token as "Authorization: Bearer <token>"');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const presented = match && match[1].length <= 200 ? match[1] : null;
    const principal = presented ? await principals.lookup(db, presented) : null;
    if (principal) {
      request.principal = principal;
      return;
    }
    const keys = [`client:${request.ip}`, `credential:${hashToken(presented ?? header)}`];
    const retryAfter = Math.max(...keys.map((key) => limiter.blocked(key) ?? 0));
    if (retryAfter > 0) {
      reply.header('Retry-After', String(retryAfter));
      throw new DomainError('rate-limited', 'Too many failed authentications; wait a minute');
    }
    for (const key of keys) limiter.fail(key);
    throw new DomainError('unauthenticated', 'The token is not valid, has expired or was revoked');
  });
  // Answers that depend on who asks are never stored by browsers or shared caches, unless a route
  // says they may be kept by the asker's own browser (`private`: an evidence preview).
  app.addHook('onSend', async (request, reply) => {
    if (request.principal && !/no-store|^private\b/.test(String(reply.getHeader('cache-control') ?? '')))
      reply.header('cache-control', 'no-store');
  });
}

/** The caller of a route that requires authentication (the hook guarantees one). */
export function caller(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthenticated');
  return request.principal;
}
