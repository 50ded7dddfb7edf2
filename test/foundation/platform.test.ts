import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { Res } from '../helpers/client.ts';
import { testDbMode } from '../helpers/database.ts';
import { useWorld } from '../helpers/setup.ts';

/** SPEC §5 and §7: health, metrics, the OpenAPI document and docs, headers, configuration, lists. */

const { t, w } = useWorld();

function expectProblem(res: Res, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    code,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
}

describe('health', () => {
  it('GET /health/live answers 200 without a token', async () => {
    const res = await w.anonymous.get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /health/ready answers 200 and names the database kind', async () => {
    const res = await w.anonymous.get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      database: testDbMode() === 'postgres' ? 'postgres' : 'pglite',
    });
    expect(res.body.database).toBe(t.database.kind);
  });
});

describe('metrics', () => {
  /** The value of one sample of the Prometheus text format, or undefined. */
  function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
    for (const line of text.split('\n')) {
      const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const found = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
      if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
    }
    return undefined;
  }

  it('counts requests by method, route pattern and status, and exposes process metrics', async () => {
    for (let i = 0; i < 3; i++) expect((await w.leadA.api.get(`/organisations/${w.orgA}`)).status).toBe(200);
    expect((await w.leadA.api.get(`/organisations/${w.orgB}`)).status).toBe(404);
    expect((await w.anonymous.get('/no/such/route/123')).status).toBe(404);

    const res = await w.anonymous.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/organisations/:id', status: '200' }),
    ).toBe(3);
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: '/organisations/:id', status: '404' }),
    ).toBe(1);
    // Unknown URLs share one label value rather than one series each.
    expect(
      sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('/no/such/route/123');
    expect(text).not.toContain(w.orgA);
    expect(text).toContain('http_request_duration_seconds_bucket');
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_cpu_system_seconds_total \d/m);
  });
});

describe('OpenAPI and docs', () => {
  const FOUNDATION: Record<string, string[]> = {
    '/me': ['get'],
    '/users': ['get', 'post'],
    '/users/{id}': ['get'],
    '/users/{id}/tokens': ['get', 'post'],
    '/tokens/{id}': ['delete'],
    '/streams': ['get'],
    '/streams/{id}': ['get'],
    '/streams/{id}/criteria-sets': ['get', 'post'],
    '/areas': ['get', 'post'],
    '/areas/{id}': ['get', 'patch'],
    '/organisations': ['get', 'post'],
    '/organisations/{id}': ['get', 'patch'],
    '/organisations/{id}/members': ['get', 'post'],
    '/organisations/{id}/pledge': ['post'],
    '/health/live': ['get'],
    '/health/ready': ['get'],
    '/metrics': ['get'],
  };

  it('GET /openapi.json is OpenAPI 3.1.0 and lists every foundation path and method', async () => {
    const res = await w.anonymous.get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    for (const [path, methods] of Object.entries(FOUNDATION)) {
      expect(doc.paths).toHaveProperty([path]);
      for (const method of methods) expect(Object.keys(doc.paths[path])).toContain(method);
    }
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas).toHaveProperty('Problem');
  });

  it('documents request bodies, the problem responses, and which routes need no token', async () => {
    const doc = (await w.anonymous.get('/openapi.json')).body;
    const createArea = doc.paths['/areas'].post;
    const body = createArea.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['name', 'nation', 'active']));
    expect(Object.keys(createArea.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403']));
    expect(doc.paths['/health/live'].get.security).toEqual([]);
    expect(doc.paths['/me'].get.security).toBeUndefined();
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('GET /docs answers the HTML documentation without a token', async () => {
    let url = '/docs';
    let res = await w.anonymous.get(url);
    for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 5; hops++) {
      url = new URL(String(res.headers.location), 'http://localhost/docs/').pathname;
      res = await w.anonymous.get(url);
    }
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/<html/i);
  });
});

describe('security headers', () => {
  for (const [what, url, token] of [
    ['a JSON answer', '/me', 'admin'],
    ['a problem answer', '/me', undefined],
    ['a public answer', '/health/live', undefined],
  ] as const) {
    it(`are set on ${what}`, async () => {
      const res = await (token ? w.admin.api : w.anonymous).get(url);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers).not.toHaveProperty('x-powered-by');
    });
  }
});

describe('unknown routes', () => {
  it('answer a 404 problem without a token', async () => {
    const res = await w.anonymous.get('/nothing/here?secret=1');
    expectProblem(res, 404, 'not-found');
    expect(res.body.detail).toBe('No route for GET /nothing/here');
  });

  it('answer a 404 problem with a valid token, whatever the method', async () => {
    expectProblem(await w.admin.api.get('/nothing/here'), 404, 'not-found');
    expectProblem(await w.admin.api.post('/areas/x/y/z', {}), 404, 'not-found');
  });

  it('a known path with a method it does not support answers 405 with Allow', async () => {
    const res = await w.admin.api.delete('/areas');
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.allow).toBe('GET, HEAD, POST');
  });
});

describe('configuration', () => {
  it('loads the defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      evidenceDir: './data/evidence',
    });
    expect(c.databaseUrl).toBeUndefined();
  });

  it('treats an empty DATABASE_URL as unset and accepts postgres:// and postgresql://', () => {
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).databaseUrl).toBe('postgres://u@h/db');
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).databaseUrl).toBe('postgresql://u@h/db');
  });

  const bad: [string, Record<string, string>][] = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['AUTH_FAILURES_PER_MINUTE', { AUTH_FAILURES_PER_MINUTE: '0' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'maybe' }],
    ['AUTH_CACHE_TTL_MS', { AUTH_CACHE_TTL_MS: '-1' }],
  ];
  for (const [name, env] of bad) {
    it(`refuses ${JSON.stringify(env)} with an error naming ${name}`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(name);
    });
  }

  it('names every bad variable at once', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL');
  });
});

describe('pagination', () => {
  type Org = { id: string; name: string; createdAt: string };
  let areaId: string;
  let created: Org[];

  beforeAll(async () => {
    const area = await w.admin.api.post('/areas', { name: 'Paging', nation: 'england', active: true });
    expect(area.status).toBe(201);
    areaId = area.body.id;
    // Two schools share a name, so the tie-breaker on id is exercised.
    created = [];
    for (const name of [
      'Paging School E',
      'Paging School A',
      'Paging School C',
      'Paging School G',
      'Paging School C',
      'Paging School B',
      'Paging School F',
    ]) {
      const res = await w.admin.api.post('/organisations', { name, streamId: w.schoolsStreamId, areaId });
      expect(res.status).toBe(201);
      created.push(res.body);
    }
  });

  async function pageThrough(query: string, limit: number): Promise<{ items: Org[]; pages: number[] }> {
    const items: Org[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    do {
      const url = `/organisations?areaId=${areaId}&limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await w.admin.api.get(url);
      expect(res.status).toBe(200);
      items.push(...res.body.items);
      pages.push(res.body.items.length);
      cursor = res.body.nextCursor;
      expect(pages.length).toBeLessThan(10);
    } while (cursor);
    return { items, pages };
  }

  const byNameThenId = (a: Org, b: Org) =>
    a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1;

  it('pages through 7 organisations 3 at a time, each seen once, in name order', async () => {
    const { items, pages } = await pageThrough('', 3);
    expect(pages).toEqual([3, 3, 1]);
    expect(items.map((o) => o.id)).toEqual([...created].sort(byNameThenId).map((o) => o.id));
    expect(new Set(items.map((o) => o.id)).size).toBe(7);
  });

  it('sort=-name pages in descending order', async () => {
    const { items, pages } = await pageThrough('&sort=-name', 3);
    expect(pages).toEqual([3, 3, 1]);
    expect(items.map((o) => o.id)).toEqual(
      [...created]
        .sort(byNameThenId)
        .reverse()
        .map((o) => o.id),
    );
  });

  it('sort=createdAt pages in creation order', async () => {
    const { items } = await pageThrough('&sort=createdAt', 2);
    expect(items.map((o) => o.id)).toEqual(created.map((o) => o.id));
  });

  // Postgres keeps microseconds; a cursor rounded to milliseconds once repeated rows across pages.
  for (const list of [
    '/users',
    '/users?sort=-createdAt',
    '/areas?sort=createdAt',
    '/organisations?sort=-createdAt',
  ]) {
    it(`${list} pages one row at a time by creation time, each row once`, async () => {
      const all = await w.admin.api.get(`${list}${list.includes('?') ? '&' : '?'}limit=500`);
      expect(all.body.nextCursor).toBeNull();
      const expected = all.body.items.map((i: { id: string }) => i.id);
      expect(expected.length).toBeGreaterThan(2);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: Res = await w.admin.api.get(
          `${list}${list.includes('?') ? '&' : '?'}limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i: { id: string }) => i.id));
        cursor = res.body.nextCursor;
      } while (cursor && seen.length <= expected.length);
      expect(seen).toEqual(expected);
    });
  }

  it('a page exactly as long as the rest ends the list', async () => {
    const { pages } = await pageThrough('', 7);
    expect(pages).toEqual([7]);
  });

  it('a list nobody can see is empty, not an error', async () => {
    const res = await w.appraiserA.api.get(`/organisations?areaId=${areaId}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });

  it('an organisation created between pages is not skipped or repeated', async () => {
    const first = await w.admin.api.get(`/organisations?areaId=${areaId}&limit=3`);
    const late = await w.admin.api.post('/organisations', {
      name: 'Paging School D',
      streamId: w.schoolsStreamId,
      areaId,
    });
    expect(late.status).toBe(201);
    const seen: string[] = first.body.items.map((o: Org) => o.id);
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const res = await w.admin.api.get(`/organisations?areaId=${areaId}&limit=3&cursor=${cursor}`);
      seen.push(...res.body.items.map((o: Org) => o.id));
      cursor = res.body.nextCursor;
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    expect(seen).toContain(late.body.id);
  });
});
