import { createHash, randomBytes } from 'node:crypto';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DbOrTrx } from '../db/index.ts';
import { type Grant, type Principal, principalFromGrants } from '../domain/principal.ts';

/** API tokens: issued to a person, shown once, stored as a hash; and who a presented token stands for. */

/** Tokens are opaque random strings; only their SHA-256 is stored, so a database leak reveals none. */
export function newToken(): { token: string; hash: string } {
  const token = `sa_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
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
export class PrincipalCache {
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
