import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { createPasskeys, type PasskeyRefused } from '../../src/signin/passkeys.ts';
import type { SignIn } from '../../src/signin/service.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { SoftAuthenticator } from '../helpers/authenticator.ts';
import { h1, type PageClient, pageClient } from '../helpers/pages.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * Passkeys (SPEC §10) through the pages, with a software authenticator: registration after an e-mail
 * sign-in, signing in with one, replays and reused challenges refused, someone else's credential
 * refused, renaming and removal, and an admin's requirement for leads and admins.
 */

const ORIGIN = 'https://awards.example.org';
const SESSION_COOKIE = '__Host-sa_session';
const CHROME_ON_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: ORIGIN });
  w = await createWorld(t.app, t.database.db);
});
afterAll(async () => {
  await t?.close();
});

/** A browser signed in as `userId` the way an e-mail link signs people in. */
async function signedInByEmail(userId: string): Promise<PageClient> {
  const browser = pageClient(t.app);
  const { cookieValue } = await t.app.signIn.openSession(
    t.database.db,
    userId,
    { userAgent: CHROME_ON_LINUX, chosenLocale: null },
    'email-link',
  );
  browser.jar.set(SESSION_COOKIE, cookieValue);
  return browser;
}

type JsonRes = { status: number; body: Record<string, unknown>; setCookie: string[] };

/**
 * What passkeys.js sends: JSON with the CSRF token of a page the browser has open (the sign-in form's
 * when signed out; the sign-out button's, on a page that stays open while a passkey is demanded).
 */
async function postJson(browser: PageClient, url: string, body: Record<string, unknown>): Promise<JsonRes> {
  const page = await browser.get(browser.jar.has(SESSION_COOKIE) ? '/accessibility' : '/sign-in');
  const token = /name="_csrf" value="([^"]+)"/.exec(page.html)?.[1];
  const res = await t.app.inject({
    method: 'POST',
    url,
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': CHROME_ON_LINUX,
      cookie: [...browser.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; '),
    },
    payload: JSON.stringify({ _csrf: token, ...body }),
  });
  const setCookie = ([] as string[]).concat(
    (res.headers['set-cookie'] as string[] | string | undefined) ?? [],
  );
  return { status: res.statusCode, body: res.json(), setCookie };
}

async function registrationOptions(browser: PageClient) {
  const res = await postJson(browser, '/account/passkeys/options', {});
  expect(res.status).toBe(200);
  return res.body as unknown as PublicKeyCredentialCreationOptionsJSON;
}

async function register(browser: PageClient, authenticator: SoftAuthenticator, name = '') {
  const options = await registrationOptions(browser);
  return postJson(browser, '/account/passkeys', { name, response: authenticator.create(options, ORIGIN) });
}

/** A signed-out browser asking to sign in with a passkey: its options. */
async function signInOptions(browser: PageClient) {
  const res = await postJson(browser, '/sign-in/passkey/options', {});
  expect(res.status).toBe(200);
  return res.body as unknown as PublicKeyCredentialRequestOptionsJSON;
}

const sessionRow = (cookieValue: string) =>
  t.database.db
    .selectFrom('sessions')
    .select(['user_id', 'authenticated_by'])
    .where('token_hash', '=', createHash('sha256').update(cookieValue).digest('hex'))
    .executeTakeFirstOrThrow();

const newSessionCookie = (res: JsonRes) =>
  decodeURIComponent(
    /__Host-sa_session=([^;]+)/.exec(res.setCookie.find((c) => c.startsWith(SESSION_COOKIE)) ?? '')?.[1] ??
      '',
  );

const leadKey = new SoftAuthenticator();

describe('registering a passkey', () => {
  it('after an e-mail sign-in: options bound to this service, the passkey listed with its name', async () => {
    const lead = await signedInByEmail(w.leadA.id);
    const page = await lead.get('/account/passkeys');
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Passkeys');
    expect(page.html).toContain('You have not added a passkey.');
    expect(page.html).toContain('We recommend a passkey for local leads and administrators');
    expect(page.html).toContain('Passkeys need JavaScript');

    const options = await registrationOptions(lead);
    expect(options.rp).toEqual({ name: 'Sanctuary Awards', id: 'awards.example.org' });
    expect(options.authenticatorSelection?.residentKey).toBe('required');
    expect(options.authenticatorSelection?.userVerification).toBe('required');
    const res = await postJson(lead, '/account/passkeys', {
      name: 'Work laptop',
      response: leadKey.create(options, ORIGIN),
    });
    expect(res).toMatchObject({ status: 200, body: { redirect: '/account/passkeys?done=added' } });

    const after = await lead.get('/account/passkeys?done=added');
    expect(after.html).toContain('Your passkey has been added.');
    expect(after.html).toContain('Work laptop');
    expect(after.html).toContain('You have added 1 passkey.');
    const row = await t.database.db
      .selectFrom('passkeys')
      .selectAll()
      .where('user_id', '=', w.leadA.id)
      .executeTakeFirstOrThrow();
    expect(row.credential_id).toBe(leadKey.credentials[0].id.toString('base64url'));
    expect(row.transports).toEqual(['internal']);
    // The session that added it has just proven it holds a passkey.
    expect(
      await t.database.db
        .selectFrom('sessions')
        .select('authenticated_by')
        .where('user_id', '=', w.leadA.id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ authenticated_by: 'passkey' });
  });

  it('without a name, is named after the device', async () => {
    const appraiser = await signedInByEmail(w.appraiserA.id);
    const res = await register(appraiser, new SoftAuthenticator());
    expect(res.status).toBe(200);
    expect((await appraiser.get('/account/passkeys')).html).toContain('Passkey on Chrome on Linux');
  });

  it('refuses a challenge used twice, and one given to another session', async () => {
    const lead = await signedInByEmail(w.leadB.id);
    const authenticator = new SoftAuthenticator();
    const options = await registrationOptions(lead);
    expect(
      (await postJson(lead, '/account/passkeys', { response: authenticator.create(options, ORIGIN) })).status,
    ).toBe(200);
    const again = await postJson(lead, '/account/passkeys', {
      response: authenticator.create(options, ORIGIN),
    });
    expect(again).toMatchObject({ status: 400, body: { problem: 'refused' } });

    const other = await signedInByEmail(w.leadB.id);
    const othersOptions = await registrationOptions(other);
    const stolen = await postJson(lead, '/account/passkeys', {
      response: authenticator.create(othersOptions, ORIGIN),
    });
    expect(stolen).toMatchObject({ status: 400, body: { problem: 'refused' } });
    expect(
      await t.database.db.selectFrom('passkeys').select('id').where('user_id', '=', w.leadB.id).execute(),
    ).toHaveLength(1);
  });

  it('refuses another origin, and a credential already registered', async () => {
    const applicant = await signedInByEmail(w.applicantA.id);
    const authenticator = new SoftAuthenticator();
    const phished = await postJson(applicant, '/account/passkeys', {
      response: authenticator.create(
        await registrationOptions(applicant),
        'https://awards.example.org.evil.test',
      ),
    });
    expect(phished).toMatchObject({ status: 400, body: { problem: 'refused' } });

    // The lead's own credential offered again, under another person's account.
    const copy = leadKey.create(await registrationOptions(applicant), ORIGIN, {
      again: leadKey.credentials[0],
    });
    const res = await postJson(applicant, '/account/passkeys', { response: copy });
    expect(res).toMatchObject({ status: 409, body: { problem: 'duplicate' } });
    expect(
      await t.database.db
        .selectFrom('passkeys')
        .select('id')
        .where('user_id', '=', w.applicantA.id)
        .execute(),
    ).toHaveLength(0);
  });

  it('without JavaScript, the form says a passkey needs it', async () => {
    const applicant = await signedInByEmail(w.applicantA.id);
    await applicant.get('/account/passkeys');
    const res = await applicant.post('/account/passkeys', { name: 'My phone' });
    expect(res.status).toBe(400);
    expect(res.html).toContain('govuk-error-summary');
    expect(res.html).toContain('Your browser must run JavaScript to add a passkey.');
    expect(res.html).toContain('value="My phone"');
  });
});

describe('signing in with a passkey', () => {
  it('opens a session like an e-mail link, marked as opened by a passkey', async () => {
    const browser = pageClient(t.app);
    const page = await browser.get('/sign-in');
    expect(page.html).toContain('Sign in with a passkey');
    const options = await signInOptions(browser);
    expect(options.rpId).toBe('awards.example.org');
    expect(options.allowCredentials).toEqual([]);
    const res = await postJson(browser, '/sign-in/passkey', { response: leadKey.get(options, ORIGIN) });
    expect(res).toMatchObject({ status: 200, body: { redirect: '/' } });
    const cookie = newSessionCookie(res);
    expect(await sessionRow(cookie)).toEqual({ user_id: w.leadA.id, authenticated_by: 'passkey' });
    browser.jar.set(SESSION_COOKIE, cookie);
    const home = await browser.get('/');
    expect(home.status).toBe(200);
    expect(home.html).toContain('Sign out');
    const row = await t.database.db
      .selectFrom('passkeys')
      .select(['counter', 'last_used_at'])
      .where('user_id', '=', w.leadA.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.counter)).toBe(leadKey.credentials[0].counter);
    expect(row.last_used_at).not.toBeNull();
  });

  it('refuses an assertion replayed, and a counter that went back', async () => {
    const browser = pageClient(t.app);
    const options = await signInOptions(browser);
    const assertion = leadKey.get(options, ORIGIN);
    expect((await postJson(browser, '/sign-in/passkey', { response: assertion })).status).toBe(200);
    const replayed = await postJson(pageClient(t.app), '/sign-in/passkey', { response: assertion });
    expect(replayed).toMatchObject({ status: 400, body: { problem: 'refused' } });

    // A fresh challenge, signed with a counter already seen (a cloned authenticator).
    const cloned = leadKey.get(await signInOptions(browser), ORIGIN, {
      counter: leadKey.credentials[0].counter,
    });
    const res = await postJson(browser, '/sign-in/passkey', { response: cloned });
    expect(res).toMatchObject({ status: 400, body: { problem: 'refused' } });
    expect(
      res.setCookie.some(
        (c) => c.startsWith(`${SESSION_COOKIE}=`) && !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c),
      ),
    ).toBe(false);
  });

  it("refuses someone else's credential: signed with another key, or with another person's handle", async () => {
    const browser = pageClient(t.app);
    const applicantKey = new SoftAuthenticator();
    const applicant = await signedInByEmail(w.applicantB.id);
    expect((await register(applicant, applicantKey, 'Phone')).status).toBe(200);

    // The applicant's credential id, signed by the lead's key.
    const forged = applicantKey.get(await signInOptions(browser), ORIGIN, {
      signWith: leadKey.credentials[0],
    });
    expect((await postJson(browser, '/sign-in/passkey', { response: forged })).status).toBe(400);
    // The lead's credential claiming to be the applicant.
    const claimed = leadKey.get(await signInOptions(browser), ORIGIN);
    claimed.response.userHandle = applicantKey.credentials[0].userHandle;
    expect((await postJson(browser, '/sign-in/passkey', { response: claimed })).status).toBe(400);
    // A credential the service never registered.
    const unknown = new SoftAuthenticator();
    unknown.create(await registrationOptions(applicant), ORIGIN);
    const stranger = unknown.get(await signInOptions(browser), ORIGIN);
    expect((await postJson(browser, '/sign-in/passkey', { response: stranger })).status).toBe(400);

    // Nor can anyone else rename or remove the lead's passkey: it is not found for them.
    const leadsPasskey = await t.database.db
      .selectFrom('passkeys')
      .select('id')
      .where('user_id', '=', w.leadA.id)
      .executeTakeFirstOrThrow();
    expect((await applicant.get(`/account/passkeys/${leadsPasskey.id}`)).status).toBe(404);
    expect((await applicant.post(`/account/passkeys/${leadsPasskey.id}`, { name: 'Mine' })).status).toBe(404);
    expect((await applicant.post(`/account/passkeys/${leadsPasskey.id}/remove`, {})).status).toBe(404);
    expect((await applicant.get('/account/passkeys/not-an-id')).status).toBe(404);
  });

  it('without JavaScript, the sign-in form goes back to the sign-in page', async () => {
    const browser = pageClient(t.app);
    await browser.get('/sign-in');
    const res = await browser.post('/sign-in/passkey', {});
    expect(res).toMatchObject({ status: 303, location: '/sign-in' });
  });
});

describe('renaming and removing', () => {
  it('renames with a checked name, and removal stops the passkey signing in', async () => {
    const person = await signedInByEmail(w.applicantB.id);
    const { id } = await t.database.db
      .selectFrom('passkeys')
      .select('id')
      .where('user_id', '=', w.applicantB.id)
      .executeTakeFirstOrThrow();
    const form = await person.get(`/account/passkeys/${id}`);
    expect(h1(form.html)).toBe('Change the name of a passkey');
    const empty = await person.post(`/account/passkeys/${id}`, { name: '  ' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('Enter a name for the passkey');
    const long = await person.post(`/account/passkeys/${id}`, { name: 'x'.repeat(61) });
    expect(long.html).toContain('The name must be 60 characters or fewer');
    expect(long.html).toContain(`value="${'x'.repeat(61)}"`);
    const renamed = await person.post(`/account/passkeys/${id}`, { name: 'Old phone' });
    expect(renamed).toMatchObject({ status: 303, location: '/account/passkeys?done=renamed' });
    expect((await person.get('/account/passkeys')).html).toContain('Old phone');

    const removed = await person.post(`/account/passkeys/${id}/remove`, {});
    expect(removed).toMatchObject({ status: 303, location: '/account/passkeys?done=removed' });
    const page = await person.get('/account/passkeys?done=removed');
    expect(page.html).toContain('The passkey has been removed.');
    expect(page.html).not.toContain('Old phone');
  });
});

describe('an admin requires passkeys for leads and admins', () => {
  it('only an admin sees the setting, and it needs a choice', async () => {
    const lead = await signedInByEmail(w.leadA.id);
    expect((await lead.get('/admin/settings')).status).toBe(403);
    expect((await lead.post('/admin/settings', { passkeysRequired: 'yes' })).status).toBe(403);
    const admin = await signedInByEmail(w.admin.id);
    const page = await admin.get('/admin/settings');
    expect(page.status).toBe(200);
    expect(page.html).toContain('Require passkeys for local leads and administrators?');
    const bad = await admin.post('/admin/settings', { passkeysRequired: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('Select whether passkeys are required');
    expect((await admin.get('/account/passkeys')).html).toContain('href="/admin/settings"');
  });

  it('then a lead signed in by e-mail alone must use their passkey, or add one, before other pages', async () => {
    const admin = await signedInByEmail(w.admin.id);
    await admin.get('/admin/settings');
    expect(await admin.post('/admin/settings', { passkeysRequired: 'yes' })).toMatchObject({
      status: 303,
      location: '/admin/settings?saved=1',
    });
    // The admin is a lead-or-admin too, and has no passkey: the next page asks for one.
    expect(await admin.get('/admin/settings?saved=1')).toMatchObject({
      status: 303,
      location: '/sign-in/passkey/required',
    });

    // A lead with a passkey: every page but signing in sends them to use it.
    const lead = await signedInByEmail(w.leadA.id);
    for (const path of ['/', '/account/devices', '/account/passkeys', '/apply/anything'])
      expect(await lead.get(path)).toMatchObject({ status: 303, location: '/sign-in/passkey/required' });
    expect(await lead.post('/account/passkeys/options', {})).toMatchObject({ status: 303 });
    const required = await lead.get('/sign-in/passkey/required');
    expect(h1(required.html)).toBe('Use your passkey to continue');
    expect(required.html).toContain('You can see photographs of children');
    expect(required.html).toContain('Use a browser with JavaScript turned on to continue.');
    // Using it opens a passkey session, and the pages open again.
    const options = await postJson(lead, '/sign-in/passkey/options', {});
    expect(options.status).toBe(200);
    const requestOptions = options.body as unknown as PublicKeyCredentialRequestOptionsJSON;
    expect(requestOptions.allowCredentials?.map((c) => c.id)).toEqual([
      leadKey.credentials[0].id.toString('base64url'),
    ]);
    const res = await postJson(lead, '/sign-in/passkey', { response: leadKey.get(requestOptions, ORIGIN) });
    expect(res.status).toBe(200);
    lead.jar.set(SESSION_COOKIE, newSessionCookie(res));
    expect((await lead.get('/')).status).toBe(200);
    expect((await lead.get('/sign-in/passkey/required')).location).toBe('/');

    // A lead without one is asked to add one, and can.
    const leadB = await signedInByEmail(w.leadB.id);
    await t.database.db.deleteFrom('passkeys').where('user_id', '=', w.leadB.id).execute();
    expect((await leadB.get('/')).location).toBe('/sign-in/passkey/required');
    const add = await leadB.get('/sign-in/passkey/required');
    expect(h1(add.html)).toBe('Add a passkey to continue');
    // Without JavaScript: told to use a browser that runs it, not that an e-mail link will do.
    expect(add.html).toContain('Use a browser with JavaScript turned on to continue.');
    expect(add.html).not.toContain('You can still sign in with an email link.');
    const noScript = await leadB.post('/account/passkeys', { name: 'Laptop' });
    expect(noScript.status).toBe(400);
    expect(h1(noScript.html)).toBe('Add a passkey to continue');
    expect(noScript.html).toContain('Your browser must run JavaScript to add a passkey.');
    expect((await leadB.get('/account/passkeys')).status).toBe(200);
    expect((await register(leadB, new SoftAuthenticator(), 'Laptop')).status).toBe(200);
    expect((await leadB.get('/')).status).toBe(200);

    // Applicants and appraisers are not asked.
    expect((await (await signedInByEmail(w.applicantA.id)).get('/')).status).toBe(200);
    expect((await (await signedInByEmail(w.appraiserA.id)).get('/')).status).toBe(200);
  });
});

describe('throttling and addresses', () => {
  /** The passkeys service on the test database, its limits and address its own. */
  const service = (baseUrl: string, perClientPerHour = 1000) =>
    createPasskeys({
      config: { signIn: { ...t.config.signIn, perClientPerHour } },
      signIn: { ...t.app.signIn, baseUrl: () => baseUrl } as SignIn,
      log: { warn: () => {} },
    });

  it('counts sign-in attempts per client and per credential like sign-in links, refusing past the limit', async () => {
    const passkeys = service(ORIGIN, 2);
    const attempt = (client: string, credentialId: string) =>
      passkeys
        .authenticate(t.database.db, {
          client,
          device: { userAgent: undefined, chosenLocale: null },
          response: {
            id: credentialId,
            rawId: credentialId,
            type: 'public-key',
            clientExtensionResults: {},
            response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
          },
        })
        .then(
          () => 'signed in',
          (err: PasskeyRefused) => err.problem,
        );
    expect(await attempt('192.0.2.1', 'AAAA')).toBe('refused');
    expect(await attempt('192.0.2.1', 'AAAB')).toBe('refused');
    expect(await attempt('192.0.2.1', 'AAAC')).toBe('throttled');
    // Another client is counted apart, but a credential tried too often is refused to every client.
    expect(await attempt('192.0.2.2', 'AAAC')).toBe('refused');
    expect(await attempt('192.0.2.3', 'AAAC')).toBe('throttled');
  });

  it('answers 429 to the page past SIGN_IN_LIMIT_PER_CLIENT attempts an hour', async () => {
    const browser = pageClient(t.app);
    const forged = {
      id: 'AAAA',
      rawId: 'AAAA',
      type: 'public-key',
      response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
    };
    let res: JsonRes | undefined;
    for (let i = 0; i <= t.config.signIn.perClientPerHour && res?.status !== 429; i++)
      res = await postJson(browser, '/sign-in/passkey', { response: forged });
    expect(res).toMatchObject({ status: 429, body: { problem: 'throttled' } });
  });

  it('are not offered where the service is reached by an IP address (not a valid relying party)', () => {
    expect(service('http://127.0.0.1:3000').available()).toBe(false);
    expect(service('http://[::1]:3000').available()).toBe(false);
    expect(service('http://localhost:3000').available()).toBe(true);
    expect(service(ORIGIN).available()).toBe(true);
  });
});
