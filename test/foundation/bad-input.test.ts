import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Res } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';

/**
 * SPEC §5 and §8: malformed, oversized and ill-typed requests at every foundation endpoint answer a
 * 4xx problem document with the right stable code, never a 5xx. All requests are sent as the admin
 * (so that authorization never hides a validation failure) unless a case says otherwise.
 */

const { t, w } = useWorld();
/** Lead A's email, to try registering it again in another case. */
let leadAEmail: string;
beforeAll(async () => {
  leadAEmail = (await w.leadA.api.get('/me')).body.email;
});

let seq = 0;
const unique = (what: string) => `${what} ${Date.now().toString(36)} ${++seq}`;
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const HUGE = 'x'.repeat(100_000);
const JSON_TYPE = { 'content-type': 'application/json' };

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

/** Sends a JSON value, or a raw string with the given headers, as the admin or as nobody. */
function send(
  method: Method,
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
  as: 'admin' | 'anonymous' = 'admin',
): Promise<Res> {
  return (as === 'admin' ? w.admin.api : w.anonymous).send(method, url, payload, headers);
}

function expectProblem(res: Res, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { status, code } });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

/** A 400 from schema validation names what was wrong, field by field. */
function expectValidationFailed(res: Res, path?: string) {
  expectProblem(res, 400, 'validation-failed');
  expect(Array.isArray(res.body.errors)).toBe(true);
  expect(res.body.errors.length).toBeGreaterThan(0);
  for (const e of res.body.errors) {
    expect(typeof e.path).toBe('string');
    expect(typeof e.message).toBe('string');
  }
  if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
}

/** The endpoints that take a JSON body, with a valid body for each and one of its text fields. */
type BodyEndpoint = {
  label: string;
  method: 'POST' | 'PATCH';
  url: () => string;
  valid: () => Record<string, unknown>;
  /** A text field of the body, for wrong types, huge strings and NUL characters. */
  textField: string;
  /** Where a wrong type is reported; a union of shapes can only name the body. */
  wrongTypePath?: string;
  /** Whether `{}` lacks something required. */
  hasRequired: boolean;
  ok: number;
};

const BODY_ENDPOINTS: BodyEndpoint[] = [
  {
    label: 'POST /users',
    method: 'POST',
    url: () => '/users',
    valid: () => ({
      email: `${randomUUID()}@example.org`,
      name: 'Someone',
      grants: [{ role: 'applicant', organisationId: w.orgA }],
    }),
    textField: 'name',
    hasRequired: true,
    ok: 201,
  },
  {
    label: 'POST /users/{id}/tokens',
    method: 'POST',
    url: () => `/users/${w.appraiserA.id}/tokens`,
    valid: () => ({ expiresInDays: 30 }),
    textField: 'expiresInDays',
    hasRequired: false,
    ok: 201,
  },
  {
    label: 'POST /streams/{id}/criteria-sets',
    method: 'POST',
    url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
    valid: () => ({
      note: 'A revision',
      criteria: [
        { code: 'L1', process: 'learn', title: 'Learn' },
        { code: 'E1', process: 'embed', title: 'Embed' },
        { code: 'S1', process: 'share', title: 'Share' },
      ],
    }),
    textField: 'note',
    hasRequired: true,
    ok: 201,
  },
  {
    label: 'POST /areas',
    method: 'POST',
    url: () => '/areas',
    valid: () => ({ name: unique('Area'), nation: 'england', localAuthorities: ['Leeds'], active: true }),
    textField: 'name',
    hasRequired: true,
    ok: 201,
  },
  {
    label: 'PATCH /areas/{id}',
    method: 'PATCH',
    url: () => `/areas/${w.areaA}`,
    valid: () => ({ region: 'West Midlands' }),
    textField: 'region',
    hasRequired: true,
    ok: 200,
  },
  {
    label: 'POST /organisations',
    method: 'POST',
    url: () => '/organisations',
    valid: () => ({ name: unique('School'), streamId: w.schoolsStreamId, areaId: w.areaA, urn: '100001' }),
    textField: 'name',
    hasRequired: true,
    ok: 201,
  },
  {
    label: 'PATCH /organisations/{id}',
    method: 'PATCH',
    url: () => `/organisations/${w.orgA}`,
    valid: () => ({ phase: 'primary' }),
    textField: 'phase',
    hasRequired: true,
    ok: 200,
  },
  {
    label: 'POST /organisations/{id}/members',
    method: 'POST',
    url: () => `/organisations/${w.orgA}/members`,
    valid: () => ({ email: `${randomUUID()}@example.org`, name: 'New Member' }),
    textField: 'name',
    wrongTypePath: 'body',
    hasRequired: true,
    ok: 201,
  },
  {
    label: 'POST /organisations/{id}/pledge',
    method: 'POST',
    url: () => `/organisations/${w.orgA}/pledge`,
    valid: () => ({ signatoryName: 'Ms Head', signatoryRole: 'Headteacher' }),
    textField: 'signatoryName',
    hasRequired: true,
    ok: 201,
  },
];

describe('JSON bodies', () => {
  for (const e of BODY_ENDPOINTS) {
    describe(e.label, () => {
      // The pledge is signed by a member; every other endpoint is driven by the admin.
      const api = () => (e.label.endsWith('/pledge') ? w.applicantA.api : w.admin.api);

      it(`${e.label}: a valid body is accepted (control) → ${e.ok}`, async () => {
        const res = await api().send(e.method, e.url(), e.valid());
        expect({ status: res.status, body: res.body }).toMatchObject({ status: e.ok });
      });

      if (e.hasRequired) {
        it(`${e.label}: an empty object → 400`, async () => {
          expectValidationFailed(await api().send(e.method, e.url(), {}));
        });
      }

      it(`${e.label}: an unknown field → 400`, async () => {
        expectValidationFailed(await api().send(e.method, e.url(), { ...e.valid(), isAdmin: true }));
      });

      it(`${e.label}: a wrong type → 400 naming the field`, async () => {
        const wrong = e.textField === 'expiresInDays' ? 'thirty' : 12345;
        expectValidationFailed(
          await api().send(e.method, e.url(), { ...e.valid(), [e.textField]: wrong }),
          e.wrongTypePath ?? `body.${e.textField}`,
        );
      });

      it(`${e.label}: a 100,000-character string → 400`, async () => {
        expectValidationFailed(
          await api().send(e.method, e.url(), { ...e.valid(), [e.textField]: HUGE }),
          `body.${e.textField}`,
        );
      });

      it(`${e.label}: a JSON array instead of an object → 400`, async () => {
        expectValidationFailed(await api().send(e.method, e.url(), JSON.stringify([e.valid()]), JSON_TYPE));
      });

      if (e.hasRequired) {
        it(`${e.label}: a JSON null → 400`, async () => {
          expectValidationFailed(await api().send(e.method, e.url(), 'null', JSON_TYPE));
        });
      }

      it(`${e.label}: malformed JSON → 400`, async () => {
        expectProblem(
          await api().send(e.method, e.url(), '{"name": "unterminated', JSON_TYPE),
          400,
          'validation-failed',
        );
      });

      it(`${e.label}: an empty body declared as JSON → 400`, async () => {
        expectProblem(await api().send(e.method, e.url(), '', JSON_TYPE), 400, 'validation-failed');
      });

      it(`${e.label}: a __proto__ key → 400`, async () => {
        const body = `{"__proto__": {"isAdmin": true}, ${JSON.stringify(e.valid()).slice(1)}`;
        expectProblem(await api().send(e.method, e.url(), body, JSON_TYPE), 400, 'validation-failed');
      });

      it(`${e.label}: text/plain → 415`, async () => {
        const res = await api().send(e.method, e.url(), JSON.stringify(e.valid()), {
          'content-type': 'text/plain',
        });
        expectProblem(res, 415, 'unsupported-media-type');
      });

      it(`${e.label}: application/xml → 415`, async () => {
        const res = await api().send(e.method, e.url(), '<user/>', { 'content-type': 'application/xml' });
        expectProblem(res, 415, 'unsupported-media-type');
      });

      it(`${e.label}: a body over 1 MiB → 413`, async () => {
        const body = JSON.stringify({ ...e.valid(), padding: 'x'.repeat(1024 * 1024 + 1) });
        expectProblem(await api().send(e.method, e.url(), body, JSON_TYPE), 413, 'payload-too-large');
      });

      if (e.textField !== 'expiresInDays') {
        it(`${e.label}: a NUL character in a text field → 400`, async () => {
          const res = await api().send(e.method, e.url(), { ...e.valid(), [e.textField]: 'Bad\u0000Name' });
          expectProblem(res, 400, 'validation-failed');
        });
      }
    });
  }
});

/** Every route with an `{id}` in its path. */
const ID_ROUTES: { method: Method; path: string; body?: () => unknown }[] = [
  { method: 'GET', path: '/users/:id' },
  { method: 'POST', path: '/users/:id/tokens', body: () => ({}) },
  { method: 'GET', path: '/users/:id/tokens' },
  { method: 'DELETE', path: '/tokens/:id' },
  { method: 'POST', path: '/me/invitations/:id/accept' },
  { method: 'POST', path: '/me/invitations/:id/decline' },
  { method: 'GET', path: '/streams/:id' },
  { method: 'GET', path: '/streams/:id/criteria-sets' },
  {
    method: 'POST',
    path: '/streams/:id/criteria-sets',
    body: () => ({
      criteria: [
        { code: 'L1', process: 'learn', title: 'Learn' },
        { code: 'E1', process: 'embed', title: 'Embed' },
        { code: 'S1', process: 'share', title: 'Share' },
      ],
    }),
  },
  { method: 'GET', path: '/areas/:id' },
  { method: 'PATCH', path: '/areas/:id', body: () => ({ region: 'Nowhere' }) },
  { method: 'GET', path: '/organisations/:id' },
  { method: 'PATCH', path: '/organisations/:id', body: () => ({ phase: 'secondary' }) },
  { method: 'GET', path: '/organisations/:id/members' },
  {
    method: 'POST',
    path: '/organisations/:id/members',
    body: () => ({ email: `${randomUUID()}@example.org`, name: 'X' }),
  },
  {
    method: 'POST',
    path: '/organisations/:id/pledge',
    body: () => ({ signatoryName: 'A', signatoryRole: 'B' }),
  },
];

describe('ids in the path', () => {
  const BAD_IDS = [
    'not-a-uuid',
    '123',
    `${randomUUID()}x`,
    "1' or '1'='1",
    '%00',
    'ffffffff-ffff-ffff-ffff-fffffffffffff',
  ];
  for (const r of ID_ROUTES) {
    for (const bad of BAD_IDS) {
      it(`${r.method} ${r.path} with id ${JSON.stringify(bad)} → 400`, async () => {
        const res = await send(r.method, r.path.replace(':id', encodeURIComponent(bad)), r.body?.());
        expectValidationFailed(res, 'params.id');
      });
    }
    it(`${r.method} ${r.path} with a well-formed id that does not exist → 404`, async () => {
      const res = await send(r.method, r.path.replace(':id', randomUUID()), r.body?.());
      expectProblem(res, 404, 'not-found');
    });
  }
});

describe('query strings', () => {
  const cases: [string, string?][] = [
    ['/users?limit=0', 'querystring.limit'],
    ['/users?limit=501', 'querystring.limit'],
    ['/users?limit=abc', 'querystring.limit'],
    ['/users?limit=1.5', 'querystring.limit'],
    ['/users?limit=-3', 'querystring.limit'],
    ['/users?limit=2&limit=3'],
    ['/users?role=superuser', 'querystring.role'],
    ['/users?organisationId=nope', 'querystring.organisationId'],
    ['/users?areaId=nope', 'querystring.areaId'],
    [`/users?email=${'x'.repeat(300)}`, 'querystring.email'],
    ['/users?password=hunter2'],
    ['/users?sort=password', 'querystring.sort'],
    ['/users?sort=-', 'querystring.sort'],
    ['/users?sort=--name', 'querystring.sort'],
    [`/users?sort=${'n'.repeat(41)}`, 'querystring.sort'],
    ['/users?sort=name&sort=email'],
    ['/users?cursor=garbage', 'query.cursor'],
    [`/users?cursor=${b64({ value: 1 })}`, 'query.cursor'],
    [`/users?cursor=${b64([1])}`, 'query.cursor'],
    [`/users?cursor=${'a'.repeat(501)}`, 'querystring.cursor'],
    ['/areas?nation=france', 'querystring.nation'],
    ['/areas?active=yes', 'querystring.active'],
    ['/areas?sort=secret', 'querystring.sort'],
    ['/areas?limit=many', 'querystring.limit'],
    ['/areas?cursor=%E2%9C%93', 'query.cursor'],
    ['/areas?bogus=1'],
    ['/organisations?areaId=nope', 'querystring.areaId'],
    ['/organisations?streamId=1', 'querystring.streamId'],
    ['/organisations?pledged=maybe', 'querystring.pledged'],
    [`/organisations?q=${'q'.repeat(201)}`, 'querystring.q'],
    ['/organisations?sort=urn', 'querystring.sort'],
    ['/organisations?cursor=bm90IGpzb24', 'query.cursor'],
    ['/organisations?limit=0', 'querystring.limit'],
  ];
  for (const [url, path] of cases) {
    it(`GET ${url.length > 80 ? `${url.slice(0, 77)}...` : url} → 400`, async () => {
      expectValidationFailed(await send('GET', url), path);
    });
  }

  // A cursor is opaque, but a client can still forge one or carry it over to another sort order.
  const forgedCursors: [string, unknown][] = [
    ['an id that is not a uuid', ['2026-01-01T00:00:00.000Z', 'not-a-uuid']],
    ['text where a timestamp is sorted', ['not a timestamp', randomUUID()]],
    ['an object as the value', [{ a: 1 }, randomUUID()]],
    ['three elements', ['2026-01-01T00:00:00.000Z', randomUUID(), 'extra']],
  ];
  for (const [what, cursor] of forgedCursors) {
    for (const list of ['/users?sort=createdAt', '/areas?sort=-createdAt', '/organisations?sort=createdAt']) {
      it(`GET ${list} with a forged cursor holding ${what} → 400`, async () => {
        expectProblem(await send('GET', `${list}&cursor=${b64(cursor)}`), 400, 'validation-failed');
      });
    }
  }

  it('a cursor issued for one sort order, replayed with another → 400', async () => {
    const first = await send('GET', '/organisations?sort=name&limit=1');
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const res = await send('GET', `/organisations?sort=createdAt&limit=1&cursor=${first.body.nextCursor}`);
    expectProblem(res, 400, 'validation-failed');
  });

  it('a NUL character in a text filter → 400', async () => {
    expectProblem(await send('GET', '/organisations?q=%00'), 400, 'validation-failed');
    expectProblem(await send('GET', '/users?email=a%00b%40example.org'), 400, 'validation-failed');
  });

  it('sort takes a key or -key, the enum the document lists; a + prefix is not one of them', async () => {
    expect((await send('GET', '/areas?sort=-name')).status).toBe(200);
    expectValidationFailed(await send('GET', '/areas?sort=%2Bname'), 'querystring.sort');
  });
});

describe('endpoint-specific rules', () => {
  const cases: {
    name: string;
    method: Method;
    url: () => string;
    body: () => unknown;
    status: number;
    code: string;
    as?: 'applicantA';
  }[] = [
    {
      name: 'POST /users with a malformed email',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: 'not-an-email', name: 'X' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with an unknown role',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: `${randomUUID()}@example.org`, name: 'X', grants: [{ role: 'superuser' }] }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with a lead grant lacking areaId',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: `${randomUUID()}@example.org`, name: 'X', grants: [{ role: 'lead' }] }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with a lead grant for a missing area',
      method: 'POST',
      url: () => '/users',
      body: () => ({
        email: `${randomUUID()}@example.org`,
        name: 'X',
        grants: [{ role: 'lead', areaId: randomUUID() }],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with an applicant grant for a missing organisation',
      method: 'POST',
      url: () => '/users',
      body: () => ({
        email: `${randomUUID()}@example.org`,
        name: 'X',
        grants: [{ role: 'applicant', organisationId: randomUUID() }],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with an appraiser profile but no appraiser grant',
      method: 'POST',
      url: () => '/users',
      body: () => ({
        email: `${randomUUID()}@example.org`,
        name: 'X',
        appraiserProfile: { livedExperience: true },
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with an appraiser homed in a missing area',
      method: 'POST',
      url: () => '/users',
      body: () => ({
        email: `${randomUUID()}@example.org`,
        name: 'X',
        grants: [{ role: 'appraiser' }],
        appraiserProfile: { livedExperience: true, homeAreaId: randomUUID() },
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with 51 grants',
      method: 'POST',
      url: () => '/users',
      body: () => ({
        email: `${randomUUID()}@example.org`,
        name: 'X',
        grants: Array.from({ length: 51 }, () => ({ role: 'appraiser' })),
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with grants as an object',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: `${randomUUID()}@example.org`, name: 'X', grants: { role: 'admin' } }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with a whitespace-only name',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: `${randomUUID()}@example.org`, name: '   ' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users with an existing email in other case',
      method: 'POST',
      url: () => '/users',
      body: () => ({ email: leadAEmail.toUpperCase(), name: 'X' }),
      status: 409,
      code: 'conflict',
    },
    {
      name: 'POST /users/{id}/tokens with expiresInDays 0',
      method: 'POST',
      url: () => `/users/${w.appraiserA.id}/tokens`,
      body: () => ({ expiresInDays: 0 }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users/{id}/tokens with expiresInDays 3651',
      method: 'POST',
      url: () => `/users/${w.appraiserA.id}/tokens`,
      body: () => ({ expiresInDays: 3651 }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users/{id}/tokens with expiresInDays 1.5',
      method: 'POST',
      url: () => `/users/${w.appraiserA.id}/tokens`,
      body: () => ({ expiresInDays: 1.5 }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /users/{id}/tokens with expiresInDays as a string',
      method: 'POST',
      url: () => `/users/${w.appraiserA.id}/tokens`,
      body: () => ({ expiresInDays: '7' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /streams/{id}/criteria-sets with two criteria',
      method: 'POST',
      url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: () => ({
        criteria: [
          { code: 'L1', process: 'learn', title: 'a' },
          { code: 'E1', process: 'embed', title: 'b' },
        ],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /streams/{id}/criteria-sets with a lower-case code',
      method: 'POST',
      url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: () => ({
        criteria: [
          { code: 'l1', process: 'learn', title: 'a' },
          { code: 'E1', process: 'embed', title: 'b' },
          { code: 'S1', process: 'share', title: 'c' },
        ],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /streams/{id}/criteria-sets with a duplicate code',
      method: 'POST',
      url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: () => ({
        criteria: [
          { code: 'L1', process: 'learn', title: 'a' },
          { code: 'L1', process: 'embed', title: 'b' },
          { code: 'S1', process: 'share', title: 'c' },
        ],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /streams/{id}/criteria-sets missing a core process',
      method: 'POST',
      url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: () => ({
        criteria: [
          { code: 'L1', process: 'learn', title: 'a' },
          { code: 'L2', process: 'learn', title: 'b' },
          { code: 'S1', process: 'share', title: 'c' },
        ],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /streams/{id}/criteria-sets with an unknown process',
      method: 'POST',
      url: () => `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: () => ({
        criteria: [
          { code: 'L1', process: 'dance', title: 'a' },
          { code: 'E1', process: 'embed', title: 'b' },
          { code: 'S1', process: 'share', title: 'c' },
        ],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with an unknown nation',
      method: 'POST',
      url: () => '/areas',
      body: () => ({ name: unique('Area'), nation: 'france', active: true }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with active as a string',
      method: 'POST',
      url: () => '/areas',
      body: () => ({ name: unique('Area'), nation: 'wales', active: 'true' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with localAuthorities as a string',
      method: 'POST',
      url: () => '/areas',
      body: () => ({ name: unique('Area'), nation: 'wales', active: true, localAuthorities: 'Cardiff' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with 101 local authorities',
      method: 'POST',
      url: () => '/areas',
      body: () => ({
        name: unique('Area'),
        nation: 'wales',
        active: true,
        localAuthorities: Array.from({ length: 101 }, (_, i) => `LA ${i}`),
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with a NUL in a local authority',
      method: 'POST',
      url: () => '/areas',
      body: () => ({
        name: unique('Area'),
        nation: 'wales',
        active: true,
        localAuthorities: ['Car\u0000diff'],
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /areas with an existing name in other case',
      method: 'POST',
      url: () => '/areas',
      body: () => ({ name: 'COVENTRY', nation: 'england', active: true }),
      status: 409,
      code: 'conflict',
    },
    {
      name: 'PATCH /areas/{id} renaming onto an existing area',
      method: 'PATCH',
      url: () => `/areas/${w.areaB}`,
      body: () => ({ name: 'coventry' }),
      status: 409,
      code: 'conflict',
    },
    {
      name: 'PATCH /areas/{id} with active null',
      method: 'PATCH',
      url: () => `/areas/${w.areaB}`,
      body: () => ({ active: null }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations for a missing stream',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({ name: unique('School'), streamId: randomUUID(), areaId: w.areaA }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations in a missing area',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({ name: unique('School'), streamId: w.schoolsStreamId, areaId: randomUUID() }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations with a javascript: website',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({
        name: unique('School'),
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
        website: 'javascript:alert(1)',
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations with an ftp: website',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({
        name: unique('School'),
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
        website: 'ftp://example.org',
      }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations with a URN containing spaces',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({ name: unique('School'), streamId: w.schoolsStreamId, areaId: w.areaA, urn: '10 36 77' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations with a whitespace-only name',
      method: 'POST',
      url: () => '/organisations',
      body: () => ({ name: ' \t ', streamId: w.schoolsStreamId, areaId: w.areaA }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'PATCH /organisations/{id} to a missing stream',
      method: 'PATCH',
      url: () => `/organisations/${w.orgA}`,
      body: () => ({ streamId: randomUUID() }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'PATCH /organisations/{id} to a missing area',
      method: 'PATCH',
      url: () => `/organisations/${w.orgA}`,
      body: () => ({ areaId: randomUUID() }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations/{id}/members with a malformed userId',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/members`,
      body: () => ({ userId: 'nope' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations/{id}/members with a missing user',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/members`,
      body: () => ({ userId: randomUUID() }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations/{id}/members mixing both forms',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/members`,
      body: () => ({ userId: w.applicantB.id, email: 'x@example.org', name: 'X' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations/{id}/members with an email only',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/members`,
      body: () => ({ email: 'only@example.org' }),
      status: 400,
      code: 'validation-failed',
    },
    {
      name: 'POST /organisations/{id}/pledge without a role',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/pledge`,
      body: () => ({ signatoryName: 'Ms Head' }),
      status: 400,
      code: 'validation-failed',
      as: 'applicantA',
    },
    {
      name: 'POST /organisations/{id}/pledge with a blank name',
      method: 'POST',
      url: () => `/organisations/${w.orgA}/pledge`,
      body: () => ({ signatoryName: '  ', signatoryRole: 'Head' }),
      status: 400,
      code: 'validation-failed',
      as: 'applicantA',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const api = c.as ? w.applicantA.api : w.admin.api;
      const res = await api.send(c.method, c.url(), c.body());
      expectProblem(res, c.status, c.code);
    });
  }

  it('POST /users/{id}/tokens with no body at all issues a token that never expires', async () => {
    const res = await w.admin.api.send('POST', `/users/${w.appraiserA.id}/tokens`);
    expect(res.status).toBe(201);
    expect(res.body.expiresAt).toBeNull();
    expect(
      (
        await t.app.inject({
          method: 'GET',
          url: '/me',
          headers: { authorization: `Bearer ${res.body.token}` },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('POST /users/{id}/tokens with a JSON null body is the same as no options', async () => {
    const res = await w.admin.api.send('POST', `/users/${w.appraiserA.id}/tokens`, 'null', JSON_TYPE);
    expect(res.status).toBe(201);
    expect(res.body.expiresAt).toBeNull();
  });
});

describe('headers and methods', () => {
  it('an Authorization header that is not Bearer → 401', async () => {
    expectProblem(
      await w.anonymous.get('/me', { authorization: 'Basic YWRtaW46YWRtaW4=' }),
      401,
      'unauthenticated',
    );
  });

  it('a Bearer token of 300 characters → 401', async () => {
    expectProblem(
      await w.anonymous.get('/me', { authorization: `Bearer ${'a'.repeat(300)}` }),
      401,
      'unauthenticated',
    );
  });

  it('a Bearer header with two tokens → 401', async () => {
    expectProblem(
      await w.anonymous.get('/me', { authorization: `Bearer ${w.admin.token} extra` }),
      401,
      'unauthenticated',
    );
  });

  it('an empty Bearer header → 401', async () => {
    expectProblem(await w.anonymous.get('/me', { authorization: 'Bearer ' }), 401, 'unauthenticated');
  });

  it('bad input without a token answers 401 before any validation', async () => {
    expectProblem(await send('POST', '/areas', '{"broken', JSON_TYPE, 'anonymous'), 401, 'unauthenticated');
    expectProblem(await send('GET', '/users/not-a-uuid', undefined, {}, 'anonymous'), 401, 'unauthenticated');
  });

  it('multipart/form-data on a JSON endpoint → 415', async () => {
    const res = await send(
      'POST',
      '/areas',
      '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nA\r\n--x--\r\n',
      {
        'content-type': 'multipart/form-data; boundary=x',
      },
    );
    expectProblem(res, 415, 'unsupported-media-type');
  });

  it('deeply nested JSON → 400', async () => {
    const depth = 100_000;
    const res = await send('POST', '/areas', `${'['.repeat(depth)}${']'.repeat(depth)}`, JSON_TYPE);
    expectProblem(res, 400, 'validation-failed');
  });

  it('a method the route does not have → 405 problem with Allow', async () => {
    const put = await send('PUT', '/areas', { name: 'x' });
    expectProblem(put, 405, 'method-not-allowed');
    expect(put.headers.allow).toBe('GET, HEAD, POST');
    const del = await send('DELETE', `/organisations/${w.orgA}`);
    expectProblem(del, 405, 'method-not-allowed');
    expect(del.headers.allow).toBe('GET, HEAD, PATCH');
  });

  it('a body on a GET is ignored, not parsed', async () => {
    const res = await send('GET', '/areas', '{"broken', JSON_TYPE);
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
  });
});
