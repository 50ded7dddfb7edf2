import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { ensureFirstAdmin } from '../../src/bootstrap.ts';
import { loadConfig, publicBaseUrl } from '../../src/config.ts';
import { startTestApp } from '../helpers/app.ts';
import { useTestApp, useWorld } from '../helpers/setup.ts';

/** Issue-10 classes that live at the door: stored text, caching, throttling, CSV cells. */

const { w } = useWorld();

describe('text that cannot be stored', () => {
  // A lone UTF-16 surrogate survives JSON.parse but has no UTF-8 form.
  const lone = '{"name": "Ysgol \\ud800 Gymraeg"}';

  it('a lone surrogate in a JSON body answers 400 naming the field, never 500', async () => {
    const res = await w.leadA.api.send('PATCH', `/organisations/${w.orgA}`, lone, {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation-failed' });
    expect(res.body.errors).toEqual([{ path: 'body.name', message: 'not well-formed Unicode' }]);
  });

  it('a lone surrogate deep in an event payload answers 400', async () => {
    const created = await w.applicantA.api.post('/applications', { organisationId: w.orgA });
    expect(created.status).toBe(201);
    const res = await w.applicantA.api.send(
      'POST',
      `/applications/${created.body.id}/events`,
      '{"type": "WITHDRAW", "reason": "\\udc00 trailing"}',
      { 'content-type': 'application/json' },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('body.reason');
    // Nothing happened to the application.
    expect((await w.applicantA.api.get(`/applications/${created.body.id}`)).body.state).toBe('draft');
  });

  it('a surrogate pair (an emoji) is ordinary text', async () => {
    const res = await w.leadA.api.patch(`/organisations/${w.orgA}`, { name: 'Hillfields Primary 🌍' });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Hillfields Primary 🌍');
  });
});

describe('Cache-Control on authenticated answers', () => {
  it.each([['/me'], ['/applications'], [`/organisations`]])('GET %s answers no-store', async (url) => {
    const res = await w.leadA.api.get(url);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('an authenticated error answers no-store too', async () => {
    const res = await w.leadA.api.get('/applications/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('public answers are not marked (the register may be cached)', async () => {
    const res = await w.anonymous.get('/register');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBeUndefined();
  });
});

describe('CSV cells holding a separator of any locale', () => {
  it('are quoted, so a spreadsheet splitting on ; or tab keeps the cell whole', async () => {
    for (const name of ['Ysgol; Gymraeg', 'Tab\tSchool', 'Comma, School']) {
      const res = await w.leadA.api.post('/organisations', {
        name,
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
      });
      expect(res.status).toBe(201);
    }
    const res = await w.leadA.api.get('/organisations', { accept: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('"Ysgol; Gymraeg"');
    expect(res.text).toContain('"Tab\tSchool"');
    expect(res.text).toContain('"Comma, School"');
    const rows = parse(res.text, { bom: true, columns: true }) as { name: string }[];
    expect(rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['Ysgol; Gymraeg', 'Tab\tSchool', 'Comma, School']),
    );
  });
});

describe('throttling of bad credentials', () => {
  const limited = useTestApp({ AUTH_FAILURES_PER_MINUTE: '3' });
  let adminToken: string;
  beforeAll(async () => {
    const first = await ensureFirstAdmin(limited.database.db, 'throttle@example.org');
    adminToken = (first as { token: string }).token;
  });

  const get = (token: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    limited.app.inject({
      method: 'GET',
      url: '/me',
      remoteAddress,
      headers: { authorization: `Bearer ${token}`, ...headers },
    });

  it('never locks out a valid token, even from an address that is throttled', async () => {
    const shared = '203.0.113.50';
    for (let i = 0; i < 3; i++) expect((await get(`sa_guess_${i}`, shared)).statusCode).toBe(401);
    expect((await get('sa_guess_x', shared)).statusCode).toBe(429);
    // Someone else behind the same address (a school's network) still gets in.
    expect((await get(adminToken, shared)).statusCode).toBe(200);
  });

  it('counts one presented credential across addresses', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await get('sa_same_guess', `198.51.100.${60 + i}`)).statusCode).toBe(401);
    }
    const res = await get('sa_same_guess', '198.51.100.99');
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ code: 'rate-limited' });
  });

  it('ignores X-Forwarded-For from a client that is not a configured proxy', async () => {
    // Failing with a forged header must not count against the address it names.
    const victim = '192.0.2.10';
    for (let i = 0; i < 4; i++) {
      await get(`sa_aimed_${i}`, '203.0.113.77', { 'x-forwarded-for': victim });
    }
    expect((await get('sa_victims_typo', victim)).statusCode).toBe(401);
  });
});

describe('a method a path does not support', () => {
  it.each([
    ['DELETE', '/applications', 'GET, HEAD, POST'],
    ['PUT', '/register', 'GET, HEAD'],
    ['POST', '/applications/00000000-0000-4000-8000-000000000000', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s, as a problem document', async (method, url, allow) => {
    const res = await w.admin.api.send(method as 'DELETE', url);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 405, code: 'method-not-allowed' });
  });

  it('an unknown path is still 404', async () => {
    const res = await w.admin.api.get('/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not-found' });
  });
});

describe('proxies and links', () => {
  it('TRUST_PROXY is a list of addresses: true (trust anyone) is refused', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,::1' }).trustProxy).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
      '::1',
    ]);
    expect(loadConfig({}).trustProxy).toEqual([]);
  });

  it('X-Forwarded-For is believed from a configured proxy, so throttling counts the real client', async () => {
    const proxied = await startTestApp({ AUTH_FAILURES_PER_MINUTE: '2', TRUST_PROXY: '203.0.113.1' });
    try {
      const viaProxy = (token: string, client: string) =>
        proxied.app.inject({
          method: 'GET',
          url: '/me',
          remoteAddress: '203.0.113.1',
          headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client },
        });
      for (let i = 0; i < 2; i++) expect((await viaProxy(`sa_bad_${i}`, '192.0.2.50')).statusCode).toBe(401);
      expect((await viaProxy('sa_bad_x', '192.0.2.50')).statusCode).toBe(429);
      // Another client behind the same proxy is not throttled.
      expect((await viaProxy('sa_bad_y', '192.0.2.51')).statusCode).toBe(401);
    } finally {
      await proxied.close();
    }
  });

  it('links are built from PUBLIC_URL, else the listen address, never from a request header', () => {
    expect(publicBaseUrl({ publicUrl: 'https://awards.example.org/', host: '0.0.0.0', port: 3000 })).toBe(
      'https://awards.example.org',
    );
    expect(publicBaseUrl({ host: '127.0.0.1', port: 3000 })).toBe('http://127.0.0.1:3000');
    expect(publicBaseUrl({ host: '::1', port: 8080 })).toBe('http://[::1]:8080');
  });
});
