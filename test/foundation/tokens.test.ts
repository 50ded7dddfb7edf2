import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp, LOG_REDACT } from '../../src/app.ts';
import { ensureFirstAdmin } from '../../src/bootstrap.ts';
import { client, type Res } from '../helpers/client.ts';
import { useTestApp, useWorld } from '../helpers/setup.ts';
import type { World } from '../helpers/world.ts';

/** SPEC §5: tokens are opaque, shown once, stored hashed, can expire and be revoked; §3: never logged. */

const { t, w } = useWorld();

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function expectUnauthenticated(res: Res) {
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
}

/** Issues a token for a user as the given issuer and checks it was issued. */
async function issue(by: World['admin'], userId: string, body: Record<string, unknown> = {}) {
  const res = await by.api.post(`/users/${userId}/tokens`, body);
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string; expiresAt: string | null };
}

describe('issuing', () => {
  it('answers an opaque token once, with no-store, and the token authenticates its user', async () => {
    const res = await w.admin.api.post(`/users/${w.applicantA.id}/tokens`, {});
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'id', 'token']);
    expect(res.body.token).toMatch(/^sa_[A-Za-z0-9_-]{40,}$/);
    expect(res.body.expiresAt).toBeNull();

    const me = await client(t.app, res.body.token).get('/me');
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(w.applicantA.id);
    expect(me.body.organisations.map((o: { id: string }) => o.id)).toEqual([w.orgA]);
  });

  it('accepts the scheme name in any case', async () => {
    const { token } = await issue(w.admin, w.appraiserA.id);
    const res = await t.app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('issues a different token every time', async () => {
    const a = await issue(w.admin, w.appraiserA.id);
    const b = await issue(w.admin, w.appraiserA.id);
    expect(a.token).not.toBe(b.token);
    expect(a.id).not.toBe(b.id);
  });

  it('sets expiresAt from expiresInDays', async () => {
    const before = Date.now();
    const { expiresAt } = await issue(w.admin, w.appraiserA.id, { expiresInDays: 7 });
    const at = Date.parse(expiresAt as string);
    expect(at).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
    expect(at).toBeLessThan(before + 8 * 86_400_000);
  });

  it('never shows the token again: the list has metadata only', async () => {
    const issued = await issue(w.admin, w.applicantB.id, { expiresInDays: 30 });
    const res = await w.admin.api.get(`/users/${w.applicantB.id}/tokens`);
    expect(res.status).toBe(200);
    const item = res.body.items.find((i: { id: string }) => i.id === issued.id);
    expect(item).toEqual({
      id: issued.id,
      createdAt: expect.any(String),
      expiresAt: issued.expiresAt,
      revokedAt: null,
    });
    for (const i of res.body.items)
      expect(Object.keys(i).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'revokedAt']);
    expect(res.text).not.toContain(issued.token);
    expect(res.text).not.toContain(sha256(issued.token));
  });
});

describe('storage', () => {
  it('a token issued with an Idempotency-Key is not kept for replay: the key is ignored', async () => {
    const headers = { 'idempotency-key': 'issue-once' };
    const first = await w.admin.api.post(`/users/${w.applicantB.id}/tokens`, {}, headers);
    const second = await w.admin.api.post(`/users/${w.applicantB.id}/tokens`, {}, headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body.token).not.toBe(first.body.token);
    const stored = await t.database.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', 'issue-once')
      .execute();
    expect(stored).toEqual([]);
    const anywhere = await sql<{ n: number }>`select count(*)::int as n from idempotency_keys
      where response_body like ${`%${first.body.token}%`}`.execute(t.database.db);
    expect(anywhere.rows[0].n).toBe(0);
  });

  it('keeps only the SHA-256 of the token, never the token itself', async () => {
    // The person issues their own: `created_by` records who issued it.
    const issued = await issue(w.applicantB, w.applicantB.id);
    const row = await t.database.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', issued.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(sha256(issued.token));
    expect(row.user_id).toBe(w.applicantB.id);
    expect(row.created_by).toBe(w.applicantB.id);

    // No column of any token row holds the raw token or any part of its secret.
    const secret = issued.token.slice('sa_'.length);
    const { rows } = await sql<{ r: string }>`select row_to_json(t)::text as r from api_tokens t`.execute(
      t.database.db,
    );
    expect(rows.length).toBeGreaterThan(1);
    for (const { r } of rows) {
      expect(r).not.toContain(issued.token);
      expect(r).not.toContain(secret);
    }
  });

  it('a token made from the stored hash does not authenticate', async () => {
    const issued = await issue(w.admin, w.appraiserA.id);
    expectUnauthenticated(await client(t.app, sha256(issued.token)).get('/me'));
  });
});

describe('expiry', () => {
  it('a token past its expiry answers 401', async () => {
    // Time is moved by editing the row, which a cached principal cannot see: this instance looks
    // tokens up on every request (AUTH_CACHE_TTL_MS=0), as an instance would once the cache entry lapsed.
    const uncached = await buildApp({
      config: { ...t.config, authCacheTtlMs: 0 },
      database: t.database,
      logger: false,
    });
    const issued = await issue(w.admin, w.applicantA.id, { expiresInDays: 1 });
    const api = client(uncached, issued.token);
    expect((await api.get('/me')).status).toBe(200);

    await t.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where('id', '=', issued.id)
      .execute();
    expectUnauthenticated(await api.get('/me'));
    // The user's other tokens are unaffected.
    expect((await client(uncached, w.applicantA.token).get('/me')).status).toBe(200);
    await uncached.close();
  });

  it('a token expiring later still works', async () => {
    const issued = await issue(w.admin, w.applicantA.id, { expiresInDays: 1 });
    await t.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() + 3_600_000) })
      .where('id', '=', issued.id)
      .execute();
    expect((await client(t.app, issued.token).get('/me')).status).toBe(200);
  });
});

describe('revocation', () => {
  it('DELETE /tokens/{id} revokes: the token answers 401 afterwards and the list shows when', async () => {
    const issued = await issue(w.admin, w.applicantA.id);
    const api = client(t.app, issued.token);
    expect((await api.get('/me')).status).toBe(200);

    const del = await w.leadA.api.delete(`/tokens/${issued.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectUnauthenticated(await api.get('/me'));
    expectUnauthenticated(await api.get('/streams'));

    const list = await w.admin.api.get(`/users/${w.applicantA.id}/tokens`);
    const item = list.body.items.find((i: { id: string }) => i.id === issued.id);
    expect(Date.parse(item.revokedAt)).not.toBeNaN();
    // The world's own token for the applicant still works.
    expect((await w.applicantA.api.get('/me')).status).toBe(200);
  });

  it('revoking twice is harmless and keeps the first revocation time', async () => {
    const issued = await issue(w.admin, w.appraiserA.id);
    expect((await w.admin.api.delete(`/tokens/${issued.id}`)).status).toBe(204);
    const first = await t.database.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('id', '=', issued.id)
      .executeTakeFirstOrThrow();
    expect((await w.admin.api.delete(`/tokens/${issued.id}`)).status).toBe(204);
    const second = await t.database.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('id', '=', issued.id)
      .executeTakeFirstOrThrow();
    expect(second.revoked_at).toEqual(first.revoked_at);
  });

  it('a user can revoke the very token they are using', async () => {
    const issued = await issue(w.admin, w.appraiserA.id);
    const api = client(t.app, issued.token);
    expect((await api.delete(`/tokens/${issued.id}`)).status).toBe(204);
    expectUnauthenticated(await api.get('/me'));
  });
});

describe('failed authentications from one address', () => {
  const limited = useTestApp({ AUTH_FAILURES_PER_MINUTE: '3' });
  let adminToken: string;
  beforeAll(async () => {
    const first = await ensureFirstAdmin(limited.database.db, 'limits@example.org');
    adminToken = (first as { token: string }).token;
  });

  const get = (url: string, token: string | undefined, remoteAddress: string) =>
    limited.app.inject({
      method: 'GET',
      url,
      remoteAddress,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  it('are answered 401 up to the limit, then 429 rate-limited for the rest of the minute', async () => {
    const attacker = '203.0.113.7';
    for (let i = 0; i < 3; i++) {
      const res = await get('/me', `sa_guess${i}`, attacker);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'unauthenticated' });
    }
    const blocked = await get('/me', 'sa_guess3', attacker);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(blocked.json()).toMatchObject({ status: 429, code: 'rate-limited' });
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // A valid token from that address is still accepted: throttling never locks out its holder.
    expect((await get('/me', adminToken, attacker)).statusCode).toBe(200);
    // Public routes without a token still answer.
    expect((await get('/health/live', undefined, attacker)).statusCode).toBe(200);
  });

  it('other addresses are not affected', async () => {
    expect((await get('/me', adminToken, '198.51.100.20')).statusCode).toBe(200);
    const other = await get('/me', 'sa_wrong', '198.51.100.21');
    expect(other.statusCode).toBe(401);
  });

  it('successful authentications do not count towards the limit', async () => {
    const address = '198.51.100.30';
    for (let i = 0; i < 5; i++) expect((await get('/me', adminToken, address)).statusCode).toBe(200);
    expect((await get('/me', 'sa_wrong', address)).statusCode).toBe(401);
  });
});

describe('logs', () => {
  let logged: FastifyInstance;
  const lines: string[] = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    // A second app on the same database, logging as in production into memory.
    logged = await buildApp({
      config: t.config,
      database: t.database,
      logger: { level: 'info', stream, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    });
    await logged.ready();
  });
  afterAll(() => logged.close());

  it('write one line per request with method, url and status, and never a token or the Authorization header', async () => {
    lines.length = 0;
    const admin = client(logged, w.admin.token);
    const issued = await admin.post(`/users/${w.appraiserA.id}/tokens`, {});
    expect(issued.status).toBe(201);
    const fresh: string = issued.body.token;
    const requests: [method: string, url: string, status: number, token?: string][] = [
      ['POST', `/users/${w.appraiserA.id}/tokens`, 201],
      ['GET', '/me', 200, fresh],
      ['GET', '/users?limit=5', 200, fresh],
      ['GET', '/me', 401, `${fresh}x`],
      ['GET', '/me', 401, 'sa_not-a-real-token'],
      ['DELETE', `/tokens/${issued.body.id}`, 204, fresh],
      ['GET', '/me', 401, fresh],
      ['GET', '/health/live', 200],
    ];
    for (const [method, url, status, token] of requests.slice(1)) {
      const res = await client(logged, token).send(method as 'GET', url);
      expect(res.status).toBe(status);
    }

    const entries = lines.map((l) => JSON.parse(l));
    const perRequest = entries.filter((e) => e.msg === 'request');
    expect(perRequest.map((e) => [e.method, e.url, e.status])).toEqual(
      requests.map(([m, u, s]) => [m, u, s]),
    );
    for (const e of perRequest) {
      expect(e.level).toBe(30);
      expect(typeof e.reqId).toBe('string');
      expect(typeof e.ms).toBe('number');
    }
    // The authenticated requests name the user, not the token.
    expect(perRequest[1].user).toBe(w.appraiserA.id);

    const all = lines.join('\n');
    for (const secret of [
      fresh,
      fresh.slice(3),
      w.admin.token,
      w.admin.token.slice(3),
      'sa_not-a-real-token',
    ]) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain('bearer');
    expect(all.toLowerCase()).not.toContain('authorization');
  });

  it('redacts token fields should anything log them', () => {
    lines.length = 0;
    logged.log.info(
      { token: 'sa_secret', issued: { token: 'sa_secret2' }, headers: { authorization: 'Bearer sa_x' } },
      'probe',
    );
    const entry = JSON.parse(lines[0]);
    expect(entry.token).toBe('[redacted]');
    expect(entry.issued.token).toBe('[redacted]');
    expect(entry.headers.authorization).toBe('[redacted]');
    expect(lines.join('\n')).not.toContain('sa_');
  });
});
