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
    memberOrganisationIds: grants.filter((g) => g.role === 'applicant').map((g) => g.organisationId as string),
  };
}

export async function findPrincipalByToken(db: DbOrTrx, token: string): Promise<Principal | null> {
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select((eb) => [
      'u.id',
      'u.email',
      'u.name',
      't.id as tokenId',
      jsonArrayFrom(
        eb
          .selectFrom('grants as g')
          .select(['g.role', 'g.area_id as areaId', 'g.organisation_id as organisationId'])
          .whereRef('g.user_id', '=', 'u.id'),
      ).as('grants'),
    ])
    .where('t.token_hash', '=', hashToken(token))
    .where('t.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', new Date())]))
    .executeTakeFirst();
  return row ? principalFromGrants(row, row.tokenId, row.grants as Grant[]) : null;
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
export function registerAuth(app: FastifyInstance, db: Db, failuresPerMinute: number) {
  const limiter = new FailedAuthLimiter(failuresPerMinute);
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
    const principal = match && match[1].length <= 200 ? await findPrincipalByToken(db, match[1]) : null;
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
