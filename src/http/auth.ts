import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db, DbOrTrx } from '../db/index.ts';
import type { Role } from '../db/schema.ts';
import { Problem } from './problem.ts';

export type Grant = { role: Role; areaId: string | null; organisationId: string | null };

/** The authenticated caller, with what their grants let them see (SPEC §3). */
export type Principal = {
  userId: string;
  email: string;
  name: string;
  tokenId: string;
  grants: Grant[];
  isAdmin: boolean;
  isAppraiser: boolean;
  leadAreaIds: string[];
  memberOrganisationIds: string[];
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers without a token (health, docs, the public register). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Tokens are opaque random strings; only their SHA-256 is stored, so a database leak reveals none. */
export function newToken(): { token: string; hash: string } {
  const token = `sa_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function principalFromGrants(
  user: { id: string; email: string; name: string },
  tokenId: string,
  grants: Grant[],
): Principal {
  return {
    userId: user.id,
    email: user.email,
    name: user.name,
    tokenId,
    grants,
    isAdmin: grants.some((g) => g.role === 'admin'),
    isAppraiser: grants.some((g) => g.role === 'appraiser'),
    leadAreaIds: grants.filter((g) => g.role === 'lead').map((g) => g.areaId as string),
    memberOrganisationIds: grants
      .filter((g) => g.role === 'applicant')
      .map((g) => g.organisationId as string),
  };
}

async function findPrincipalByHash(db: DbOrTrx, tokenHash: string) {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select((eb) => [
      'u.id',
      'u.email',
      'u.name',
      't.id as tokenId',
      't.expires_at as expiresAt',
      jsonArrayFrom(
        eb
          .selectFrom('grants as g')
          .select(['g.role', 'g.area_id as areaId', 'g.organisation_id as organisationId'])
          .whereRef('g.user_id', '=', 'u.id'),
      ).as('grants'),
    ])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', new Date())]))
    .executeTakeFirst();
  return row
    ? {
        principal: principalFromGrants(row, row.tokenId, row.grants as Grant[]),
        expiresAt: row.expiresAt?.getTime() ?? Infinity,
      }
    : null;
}

// Bumped by every write that changes who a token stands for (grants, revocations): cached principals
// of an older generation are not used again in this process.
let principalGeneration = 0;
export function invalidateCachedPrincipals() {
  principalGeneration++;
}

/**
 * Remembers the principal behind a token for a few seconds, sparing a query on every request. A
 * revocation or grant change made through this process applies at once; one made through another
 * instance applies within the TTL. The token's own expiry is always honoured.
 */
class PrincipalCache {
  private entries = new Map<string, { principal: Principal; until: number; generation: number }>();
  private readonly ttlMs: number;
  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }
  async lookup(db: DbOrTrx, token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    const now = Date.now();
    const hit = this.entries.get(hash);
    if (hit && hit.until > now && hit.generation === principalGeneration) return hit.principal;
    const generation = principalGeneration;
    const found = await findPrincipalByHash(db, hash);
    if (!found) {
      this.entries.delete(hash);
      return null;
    }
    if (this.ttlMs > 0) {
      if (this.entries.size >= 10_000) this.entries.clear();
      this.entries.set(hash, {
        principal: found.principal,
        until: Math.min(now + this.ttlMs, found.expiresAt),
        generation,
      });
    }
    return found.principal;
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
      throw new Problem('unauthenticated', 'Send an API token as "Authorization: Bearer <token>"');
    }
    const retryAfter = limiter.blocked(request.ip);
    if (retryAfter !== null) {
      reply.header('Retry-After', String(retryAfter));
      throw new Problem('rate-limited', 'Too many failed authentications from this address; wait a minute');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const principal = match && match[1].length <= 200 ? await principals.lookup(db, match[1]) : null;
    if (!principal) {
      limiter.fail(request.ip);
      throw new Problem('unauthenticated', 'The token is not valid, has expired or was revoked');
    }
    request.principal = principal;
  });
}

/** The caller of a route that requires authentication (the hook guarantees one). */
export function caller(request: FastifyRequest): Principal {
  if (!request.principal) throw new Problem('unauthenticated');
  return request.principal;
}
