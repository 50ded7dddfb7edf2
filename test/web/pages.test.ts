import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { forbidden, notFound, validationFailed } from '../../src/domain/errors.ts';
import { createResumableIntake } from '../../src/evidence/tus.ts';
import { createEvidenceStore } from '../../src/storage/index.ts';
import { webPlugin } from '../../src/web/plugin.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { eventually, signInLinkIn } from '../helpers/browser.ts';
import { type ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { h1, type PageClient, pageClient } from '../helpers/pages.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * The pages over HTTP, without a browser: what they answer, their headers and cookies, and where
 * they and the API keep apart (forms, tokens, sessions, errors).
 */

let t: TestApp;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let email: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await startTestApp({ SMTP_URL: smtp.url, TRUST_PROXY: '127.0.0.1', SIGN_IN_LIMIT_PER_ADDRESS: '100' });
  w = await createWorld(t.app, t.database.db);
  email = (await w.applicantA.api.get('/me')).body.email;
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

/** A page client signed in as applicant A through the sign-in pages. */
async function signedIn(app: FastifyInstance = t.app): Promise<PageClient> {
  const browser = pageClient(app);
  await browser.get('/sign-in');
  const before = smtp.mails.filter((m: ReceivedMail) => m.to.includes(email)).length;
  expect((await browser.post('/sign-in', { email })).status).toBe(200);
  const mail = await eventually(() => smtp.mails.filter((m) => m.to.includes(email))[before], 'the e-mail');
  const token = new URL(signInLinkIn(mail.raw)).searchParams.get('token') as string;
  await browser.get(`/sign-in/link?token=${token}`);
  expect((await browser.post('/sign-in/link', { token })).location).toBe('/');
  return browser;
}

describe('page responses', () => {
  it('carry a strict CSP allowing the template’s inline script by its hash, never cached', async () => {
    const res = await pageClient(t.app).get('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const inline = [...res.html.matchAll(/<script>([^<]+)<\/script>/g)].map((m) => m[1]);
    expect(inline).toHaveLength(1);
    expect(csp).toContain(`'sha256-${createHash('sha256').update(inline[0]).digest('base64')}'`);
    // The other scripts are files of ours.
    expect(res.html).toContain('<script type="module" src="/static/app.js"></script>');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('ask browsers to upgrade insecure requests only behind TLS', async () => {
    const res = await pageClient(t.app).get('/', { 'x-forwarded-proto': 'https' });
    expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
  });

  it('serve GOV.UK Frontend’s script and assets, and our stylesheet, from here (no CDN)', async () => {
    const assets: [string, string | RegExp][] = [
      ['/static/app.css', 'text/css'],
      ['/static/app.js', /javascript/],
      ['/static/govuk-frontend.min.js', /javascript/],
      ['/assets/images/favicon.svg', 'image/svg+xml'],
    ];
    for (const [url, type] of assets) {
      const res = await t.app.inject({ url });
      expect([url, res.statusCode]).toEqual([url, 200]);
      expect(String(res.headers['content-type'])).toMatch(type);
    }
    const css = (await t.app.inject({ url: '/static/app.css' })).body;
    expect(css).not.toMatch(/GDS Transport|@font-face/);
  });

  it('are not in the OpenAPI document, which stays the API’s contract', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(
      Object.keys(doc.paths).filter((p) => /sign-in|account|static|assets|accessibility|^\/$|\*/.test(p)),
    ).toEqual([]);
  });
});

describe('pages and the API stay apart', () => {
  it('the API still refuses form bodies (415); its unknown paths answer problems, a browser’s the page', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/areas',
      headers: {
        authorization: `Bearer ${w.admin.token}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'name=Leeds&nation=england&active=true',
    });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    const problem = await t.app.inject({ url: '/no/such/thing', headers: { accept: 'application/json' } });
    expect(problem.statusCode).toBe(404);
    expect(problem.json()).toMatchObject({ code: 'not-found', detail: 'No route for GET /no/such/thing' });
    const page = await pageClient(t.app).get('/no/such/thing');
    expect(page.status).toBe(404);
    expect(h1(page.html)).toBe('Page not found');
    // A request with an Authorization header is a program's, whatever it accepts: the API answers it
    // (an unknown path is not found, whatever the credentials).
    const program = await t.app.inject({
      url: '/no/such/thing',
      headers: { accept: 'text/html', authorization: 'Bearer sa_nope' },
    });
    expect(program.statusCode).toBe(404);
    expect(program.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('a bearer token, valid or not, opens no page: pages read only the session', async () => {
    const browser = pageClient(t.app, { authorization: `Bearer ${w.applicantA.token}` });
    const home = await browser.get('/');
    expect(home.html).toContain('href="/sign-in"');
    expect(home.html).not.toContain('Applicant A');
    const devices = await browser.get('/account/devices');
    expect([devices.status, devices.location]).toEqual([303, '/sign-in']);
    const bad = await pageClient(t.app, { authorization: 'Bearer sa_not-a-token' }).get('/');
    expect(bad.status).toBe(200);
    expect(bad.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(bad.html).toContain('href="/sign-in"');
  });

  it('signing in again on a browser ends the session it had', async () => {
    const browser = await signedIn();
    const before = browser.jar.get('__Host-sa_session') as string;
    await browser.get('/');
    const count = smtp.mails.length;
    await browser.post('/sign-in', { email });
    const mail = await eventually(() => smtp.mails.slice(count).find((m) => m.to.includes(email)), 'mail');
    const token = new URL(signInLinkIn(mail.raw)).searchParams.get('token') as string;
    await browser.get(`/sign-in/link?token=${token}`);
    expect((await browser.post('/sign-in/link', { token })).status).toBe(303);
    expect(browser.jar.get('__Host-sa_session')).not.toBe(before);
    expect(await t.app.signIn.sessionFor(t.database.db, before)).toBeNull();
  });

  it('the session cookie opens no API route', async () => {
    const browser = await signedIn();
    const cookie = [...browser.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const me = await t.app.inject({ url: '/me', headers: { cookie } });
    expect(me.statusCode).toBe(401);
    expect(me.json().code).toBe('unauthenticated');
  });

  it('sets the session cookie __Host-, HttpOnly, SameSite=Lax, Secure, for the browser session only', async () => {
    const browser = pageClient(t.app);
    await browser.get('/sign-in');
    const before = smtp.mails.length;
    await browser.post('/sign-in', { email });
    const mail = await eventually(() => smtp.mails.slice(before).find((m) => m.to.includes(email)), 'mail');
    const token = new URL(signInLinkIn(mail.raw)).searchParams.get('token') as string;
    await browser.get(`/sign-in/link?token=${token}`);
    const res = await browser.post('/sign-in/link', { token });
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] as string[]);
    const session = cookies.find((c) => c.startsWith('__Host-sa_session=')) as string;
    expect(session.split('; ').slice(1).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Lax', 'Secure']);
  });
});

describe('forms', () => {
  it('every POST needs its CSRF token: without one, or with another browser’s, a 403 page and nothing done', async () => {
    const browser = await signedIn();
    const missing = await browser.post('/sign-out', {}, { csrf: false });
    expect(missing.status).toBe(403);
    expect(h1(missing.html)).toBe('This form has expired');
    const other = pageClient(t.app);
    await other.get('/sign-in');
    const foreign = /name="_csrf" value="([^"]+)"/.exec((await other.get('/sign-in')).html)?.[1] as string;
    const forged = await browser.post('/sign-out', { _csrf: foreign });
    expect(forged.status).toBe(403);
    expect(h1((await browser.get('/')).html)).toBe('Applicant A');
  });

  it('a multipart form’s token is checked from its query string before the body is read', async () => {
    const browser = await signedIn();
    const form = await browser.get('/');
    const token = /name="_csrf" value="([^"]+)"/.exec(form.html)?.[1] as string;
    const cookie = [...browser.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    const multipart = (url: string) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { accept: 'text/html', cookie, 'content-type': 'multipart/form-data; boundary=x' },
        payload: `--x\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--x--\r\n`,
      });
    // The token in the body is not looked at: the body is never read for it.
    const inBody = await multipart('/sign-out');
    expect(inBody.statusCode).toBe(403);
    expect(h1(inBody.body)).toBe('This form has expired');
    // In the query string it passes; this route takes no multipart body, so that is refused next (415).
    const inQuery = await multipart(`/sign-out?_csrf=${encodeURIComponent(token)}`);
    expect(inQuery.statusCode).toBe(415);
    expect(inQuery.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(h1((await browser.get('/')).html)).toBe('Applicant A');
  });

  it('a bad e-mail address shows the form again with an error summary, the field’s error and what was typed', async () => {
    const browser = pageClient(t.app);
    await browser.get('/sign-in');
    const res = await browser.post('/sign-in', { email: 'not-an-address' });
    expect(res.status).toBe(400);
    expect(res.html).toMatch(/<title>Error: Sign in – Sanctuary Awards<\/title>/);
    expect(res.html).toContain('govuk-error-summary');
    expect(res.html).toContain(
      '<a href="#email">Enter an email address in the correct format, like name@example.org</a>',
    );
    expect(res.html).toContain('value="not-an-address"');
    expect(res.html).toContain('govuk-input--error');
  });

  it('in Welsh, the errors are Welsh', async () => {
    const browser = pageClient(t.app, { 'accept-language': 'cy-GB,cy;q=0.9,en;q=0.5' });
    const form = await browser.get('/sign-in');
    expect(form.html).toContain('<html lang="cy"');
    const res = await browser.post('/sign-in', { email: '' });
    expect(res.html).toContain('Rhowch eich cyfeiriad e-bost');
    expect(res.html).toContain('Mae problem wedi codi');
  });
});

describe('the language toggle', () => {
  it('remembers the choice in a cookie and shows the same page again, other parameters kept, never off-site', async () => {
    const browser = pageClient(t.app);
    const res = await browser.get('/account/devices?revoked=1&lang=cy');
    expect([res.status, res.location]).toEqual([303, '/account/devices?revoked=1']);
    expect(String(res.headers['set-cookie'])).toMatch(
      /^sa_lang=cy; Max-Age=31536000; Path=\/; HttpOnly; SameSite=Lax/,
    );
    expect((await browser.get('/')).html).toContain('<html lang="cy"');
    const offsite = await pageClient(t.app).get('//evil.example/?lang=cy');
    expect(offsite.location === undefined || offsite.location.startsWith('/')).toBe(true);
    expect(offsite.location ?? '/').not.toMatch(/^\/[/\\]/);
  });

  it('for a signed-in person is stored on their row', async () => {
    const browser = await signedIn();
    await browser.get('/?lang=cy');
    const row = await t.database.db
      .selectFrom('users')
      .select('locale')
      .where('id', '=', w.applicantA.id)
      .executeTakeFirstOrThrow();
    expect(row.locale).toBe('cy');
    await browser.get('/?lang=en');
  });
});

describe('errors on pages', () => {
  let mini: FastifyInstance;
  const logs: string[] = [];
  beforeAll(async () => {
    // The pages' own error handler, with routes that fail the ways a service can.
    mini = Fastify({ logger: { level: 'info', stream: { write: (line: string) => logs.push(line) } } });
    await mini.register(async (pages) => {
      await webPlugin(pages, {
        db: t.database.db,
        config: t.config,
        signIn: t.app.signIn,
        store: await createEvidenceStore(t.config),
        resumable: createResumableIntake(t.config),
      });
      pages.get('/test/forbidden', async () => {
        throw forbidden('Only the area lead or an admin may do this');
      });
      pages.get('/test/missing', async () => {
        throw notFound('application');
      });
      pages.get('/test/broken', async () => {
        throw new Error('kaboom');
      });
      pages.post(
        '/test/form',
        { config: { form: { view: 'sign-in/start', context: () => ({ linkMinutes: 15 }) } } },
        async () => {
          throw validationFailed('bad', [{ path: 'body.email', message: 'That address is already taken' }]);
        },
      );
    });
    await mini.ready();
  });
  afterAll(async () => {
    await mini.close();
  });

  it('forbidden → the 403 page; not found → the 404 page', async () => {
    const browser = pageClient(mini);
    const denied = await browser.get('/test/forbidden');
    expect([denied.status, h1(denied.html)]).toEqual([403, 'You cannot do this']);
    const missing = await browser.get('/test/missing');
    expect([missing.status, h1(missing.html)]).toEqual([404, 'Page not found']);
  });

  it('a service’s validation error on a form → the form again with its error summary', async () => {
    const browser = pageClient(mini);
    await browser.get('/sign-in');
    const res = await browser.post('/test/form', { email: 'taken@example.org' });
    expect(res.status).toBe(400);
    expect(res.html).toContain('<a href="#email">That address is already taken</a>');
    expect(res.html).toContain('value="taken@example.org"');
  });

  it('anything unexpected → the 500 page with a reference that is also in the log', async () => {
    const res = await pageClient(mini).get('/test/broken');
    expect(res.status).toBe(500);
    expect(h1(res.html)).toBe('Sorry, there is a problem with the service');
    const reference = /<strong>([0-9A-F]{8})<\/strong>/.exec(res.html)?.[1];
    expect(reference).toBeDefined();
    const logged = logs.map((l) => JSON.parse(l)).find((l) => l.reference === reference);
    expect(logged).toMatchObject({ level: 50, msg: 'page failed', err: { message: 'kaboom' } });
    expect(res.html).not.toContain('kaboom');
  });
});

describe('the request log', () => {
  it('never holds a sign-in link’s token or a form token from a query string', async () => {
    const lines: string[] = [];
    const app = await buildApp({
      config: t.config,
      database: t.database,
      logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
    });
    await app.ready();
    await app.inject({
      url: '/sign-in/link?token=SECRET-LINK-TOKEN-1234567890',
      headers: { accept: 'text/html' },
    });
    await app.inject({
      method: 'POST',
      url: '/sign-out?_csrf=SECRET-FORM-TOKEN',
      headers: { accept: 'text/html' },
    });
    await app.close();
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests.map((r) => r.url)).toEqual([
      '/sign-in/link?token=[redacted]',
      '/sign-out?_csrf=[redacted]',
    ]);
    expect(lines.join('\n')).not.toContain('SECRET');
  });
});

describe('the stylesheet', () => {
  it('is the compiled form of src/web/styles/app.scss (run `npm run build:css` after changing it)', async () => {
    const sass = await import('sass');
    const compiled = sass.compile('src/web/styles/app.scss', {
      style: 'compressed',
      importers: [new sass.NodePackageImporter()],
    }).css;
    expect(readFileSync('src/web/static/app.css', 'utf8').trim()).toBe(compiled.trim());
  }, 60_000);
});
