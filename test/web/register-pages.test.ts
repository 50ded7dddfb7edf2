import { beforeAll, describe, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import { awardFor } from '../helpers/awards.ts';
import { h1, pageClient } from '../helpers/pages.ts';
import { useWorld } from '../helpers/setup.ts';
import { createUserWithToken } from '../helpers/world.ts';

/**
 * The public register and verification pages over HTTP (SPEC §9 "The public"): no sign-in, search,
 * filters, paging and CSV through the register's service, and the same addresses answering programs
 * exactly as the API always has.
 */

const { t, w } = useWorld();

let hillfields: { awardId: string };
let glanMorfa: { awardId: string };
let revoked: { awardId: string };

beforeAll(async () => {
  hillfields = await awardFor(t.app, w, w.orgA, w.applicantA);
  glanMorfa = await awardFor(t.app, w, w.orgB, w.applicantB);
  // A third school whose award is revoked: it leaves the register.
  const org = ok(
    await w.leadA.api.post('/organisations', {
      name: 'Radford Academy',
      streamId: w.schoolsStreamId,
      areaId: w.areaA,
    }),
    201,
  );
  const member = await createUserWithToken(t.app, w.admin.api, {
    email: 'radford@example.org',
    name: 'Radford member',
    grants: [{ role: 'applicant', organisationId: org.id }],
  });
  revoked = await awardFor(t.app, w, org.id, member);
  ok(
    await w.admin.api.post(`/awards/${revoked.awardId}/events`, {
      type: 'REVOKE',
      reason: 'Safeguarding concern',
    }),
  );
}, 120_000);

const rowsOf = (html: string) =>
  [
    ...html.matchAll(
      /<th scope="row" class="govuk-table__header"><a class="govuk-link" href="\/register\/([^"]+)">([^<]+)<\/a>/g,
    ),
  ].map((m) => ({ awardId: m[1], name: m[2] }));
const hrefOf = (html: string, rel: 'prev' | 'next') =>
  (
    new RegExp(`<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="${rel}"`).exec(html)?.[1] ??
    ''
  ).replace(/&amp;/g, '&');

describe('the API at the same addresses, for programs', () => {
  it('answers JSON to no Accept, to Accept: application/json, and to a browser-like Accept with a token', async () => {
    const bare = await t.app.inject({ method: 'GET', url: '/register' });
    const json = await t.app.inject({
      method: 'GET',
      url: '/register',
      headers: { accept: 'application/json' },
    });
    const withToken = await t.app.inject({
      method: 'GET',
      url: '/register',
      headers: { accept: 'text/html', authorization: `Bearer ${w.admin.token}` },
    });
    for (const res of [bare, json, withToken]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
    expect(
      bare
        .json()
        .items.map((e: { awardId: string }) => e.awardId)
        .sort(),
    ).toEqual([hillfields.awardId, glanMorfa.awardId].sort());
    expect(json.body).toBe(bare.body);
    expect(withToken.body).toBe(bare.body);
    expect(bare.headers['content-security-policy']).toBe(json.headers['content-security-policy']);
  });

  it('answers one award as JSON, a revoked one without its holder, and problem documents as before', async () => {
    const current = await t.app.inject({ method: 'GET', url: `/register/${hillfields.awardId}` });
    expect(current.headers['content-type']).toMatch(/^application\/json/);
    expect(current.json()).toMatchObject({
      awardId: hillfields.awardId,
      current: true,
      organisationName: 'Hillfields Primary School',
    });
    const gone = await t.app.inject({
      method: 'GET',
      url: `/register/${revoked.awardId}`,
      headers: { accept: 'application/json' },
    });
    expect(gone.json()).toEqual({
      awardId: revoked.awardId,
      current: false,
      status: 'not-current',
      message: 'This award is not current.',
    });
    const missing = await t.app.inject({
      method: 'GET',
      url: '/register/00000000-0000-4000-8000-000000000000',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    const malformed = await t.app.inject({ method: 'GET', url: '/register/not-an-id' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers CSV to Accept: text/csv', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/register?nation=wales',
      headers: { accept: 'text/csv' },
    });
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.body).toContain('Ysgol Glan Morfa');
    expect(res.body).not.toContain('Hillfields');
  });

  it('keeps the OpenAPI document free of the pages', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/register'].get.operationId).toBe('listRegister');
    expect(doc.paths['/register/{awardId}'].get.operationId).toBe('verifyAward');
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
    expect(JSON.stringify(doc.paths['/register'])).not.toContain('text/html');
  });
});

describe('the register page, for people', () => {
  it('lists current award holders by name, without sign-in, and never the revoked one', async () => {
    const res = await pageClient(t.app).get('/register');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(h1(res.html)).toBe('Register of Sanctuary Awards');
    expect(rowsOf(res.html).map((r) => r.name)).toEqual(['Hillfields Primary School', 'Ysgol Glan Morfa']);
    expect(res.html).not.toContain('Radford');
    expect(res.html).toContain('Coventry');
  });

  it('searches by name and filters by stream, area and nation, keeping the choices in the form', async () => {
    const browser = pageClient(t.app);
    expect(rowsOf((await browser.get('/register?name=glan')).html).map((r) => r.name)).toEqual([
      'Ysgol Glan Morfa',
    ]);
    const wales = await browser.get('/register?nation=wales');
    expect(rowsOf(wales.html).map((r) => r.name)).toEqual(['Ysgol Glan Morfa']);
    expect(wales.html).toMatch(/<option value="wales" selected>Wales<\/option>/);
    expect(rowsOf((await browser.get(`/register?areaId=${w.areaA}`)).html).map((r) => r.name)).toEqual([
      'Hillfields Primary School',
    ]);
    expect(
      rowsOf((await browser.get('/register?stream=schools&nation=england')).html).map((r) => r.name),
    ).toEqual(['Hillfields Primary School']);
    const none = await browser.get('/register?stream=libraries');
    expect(rowsOf(none.html)).toEqual([]);
    expect(none.html).toContain('No current award holder matches your search.');
    // A filter the form never offers is ignored rather than an error page.
    expect((await browser.get('/register?nation=atlantis&areaId=nope')).status).toBe(200);
  });

  it('pages forwards and back', async () => {
    const browser = pageClient(t.app);
    const first = await browser.get('/register?limit=1');
    expect(rowsOf(first.html).map((r) => r.name)).toEqual(['Hillfields Primary School']);
    expect(hrefOf(first.html, 'prev')).toBe('');
    const second = await browser.get(hrefOf(first.html, 'next'));
    expect(rowsOf(second.html).map((r) => r.name)).toEqual(['Ysgol Glan Morfa']);
    expect(hrefOf(second.html, 'next')).toBe('');
    const back = await browser.get(hrefOf(second.html, 'prev'));
    expect(rowsOf(back.html).map((r) => r.name)).toEqual(['Hillfields Primary School']);
  });

  it('downloads the filtered register as the API’s CSV', async () => {
    const browser = pageClient(t.app);
    const page = await browser.get('/register?nation=wales');
    const link = (/href="([^"]*format=csv[^"]*)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    expect(link).toBe('/register?nation=wales&format=csv');
    const csv = await browser.get(link);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain('sanctuary-awards-register.csv');
    const api = await t.app.inject({
      method: 'GET',
      url: '/register?nation=wales',
      headers: { accept: 'text/csv' },
    });
    expect(csv.html).toBe(api.body);
  });

  it('is linked from every page’s footer, signed in or not', async () => {
    expect((await pageClient(t.app).get('/')).html).toContain(
      '<a class="govuk-footer__link" href="/register">Register of awards</a>',
    );
  });

  it('speaks Welsh', async () => {
    const res = await pageClient(t.app, { 'accept-language': 'cy' }).get('/register');
    expect(h1(res.html)).toBe('Cofrestr Gwobrau Noddfa');
    expect(res.html).toContain('Cymru');
  });
});

describe('the verification page a certificate links to', () => {
  it('confirms a current award with its holder and dates', async () => {
    const res = await pageClient(t.app).get(`/register/${hillfields.awardId}`);
    expect(res.status).toBe(200);
    expect(h1(res.html)).toBe('This award is current');
    expect(res.html).toContain('Hillfields Primary School holds a current Sanctuary Award');
    expect(res.html).toContain('Valid until');
  });

  it('says only that a revoked award is not current: no holder, dates or reason', async () => {
    const res = await pageClient(t.app).get(`/register/${revoked.awardId}`);
    expect(res.status).toBe(200);
    expect(h1(res.html)).toBe('This award is not current');
    expect(res.html).not.toContain('Radford');
    expect(res.html).not.toContain('Safeguarding');
    expect(res.html).not.toContain('Valid until');
    expect(res.html).not.toMatch(/revoked/i);
  });

  it('answers the page-not-found page for an unknown or malformed id', async () => {
    for (const url of ['/register/00000000-0000-4000-8000-000000000000', '/register/not-an-id']) {
      const res = await pageClient(t.app).get(url);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(h1(res.html)).toBe('Page not found');
    }
  });
});
