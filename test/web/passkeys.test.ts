import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import {
  type BrowserHarness,
  browserAvailable,
  click,
  signInByEmail,
  startBrowserHarness,
  textOf,
} from '../helpers/browser.ts';
import { type ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * Passkeys (SPEC §10) in a real Chromium with its virtual authenticator (CDP `WebAuthn`): a lead signs
 * in by e-mail link, adds a passkey, signs out and signs in with it; without JavaScript the page says
 * why there is no passkey button; an admin requires passkeys and is sent to add one. WebAuthn needs a
 * domain name as its relying party (an IP address is refused), so the service is reached, and names
 * itself, as http://localhost (a secure context, like 127.0.0.1).
 */

const run = browserAvailable() ? describe : describe.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let origin: string;

beforeAll(async () => {
  if (!browserAvailable()) return;
  smtp = await startSmtpServer();
  h = await startBrowserHarness({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Sanctuary Awards <awards@example.org>',
    // The address the service names itself by (links, the relying party): it listens on 127.0.0.1.
    HOST: 'localhost',
    SIGN_IN_LIMIT_PER_ADDRESS: '1000',
    SIGN_IN_LIMIT_PER_CLIENT: '1000',
  });
  w = await createWorld(h.t.app, h.t.database.db);
  origin = h.baseUrl.replace('127.0.0.1', 'localhost');
}, 120_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

const _mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

/** A virtual platform authenticator with user verification, as a phone or laptop has. */
async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
}

const emailOf = async (actor: World['leadA']) => (await actor.api.get('/me')).body.email as string;

run('passkeys in a browser', () => {
  it('a lead adds a passkey after an e-mail sign-in, signs out, and signs in with it', async () => {
    const page = await (await h.newContext()).newPage();
    await addVirtualAuthenticator(page);
    await signInByEmail(page, smtp, await emailOf(w.leadA), origin);
    expect(page.url()).toBe(`${origin}/`);

    await page.goto(`${origin}/account/devices`);
    await click(page, 'link', /^Passkeys/);
    expect(page.url()).toBe(`${origin}/account/passkeys`);
    expect(await page.getByText('We recommend a passkey for local leads and administrators').count()).toBe(1);
    // With JavaScript, the note saying it is needed is gone.
    expect(await page.getByText('Passkeys need JavaScript').isVisible()).toBe(false);
    await page.getByLabel('Name for the passkey (optional)').fill('Work laptop');
    await Promise.all([
      page.waitForURL(/done=added/),
      page.getByRole('button', { name: 'Add a passkey' }).click(),
    ]);
    expect(await page.getByText('Your passkey has been added.').count()).toBe(1);
    expect(await page.getByRole('rowheader', { name: 'Work laptop' }).count()).toBe(1);
    await h.check(page, 'passkeys');

    await click(page, 'link', /Change name/);
    await page.getByLabel('Change the name of a passkey').fill('');
    await click(page, 'button', 'Save name');
    expect(await textOf(page, '.govuk-error-summary')).toContain('Enter a name for the passkey');
    await h.check(page, 'passkey-rename-error');
    await page.getByLabel('Change the name of a passkey').fill('Work laptop');
    await click(page, 'button', 'Save name');
    expect(await page.getByText("Your passkey's name has been changed.").count()).toBe(1);

    // The same page in Welsh.
    await page.goto(`${origin}/account/passkeys?lang=cy`);
    expect(await textOf(page, 'h1')).toBe('Allweddi mynediad');
    await h.check(page, 'passkeys-cy');
    await page.goto(`${origin}/account/passkeys?lang=en`);

    await click(page, 'button', 'Sign out');
    expect(page.url()).toBe(`${origin}/signed-out`);

    await page.goto(`${origin}/sign-in`);
    expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(true);
    await h.check(page, 'sign-in-passkey');
    await Promise.all([
      page.waitForURL(`${origin}/`),
      page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
    ]);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    const sessions = await h.t.database.db
      .selectFrom('sessions')
      .select('authenticated_by')
      .where('user_id', '=', w.leadA.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(sessions.map((s) => s.authenticated_by)).toContain('passkey');
    const passkey = await h.t.database.db
      .selectFrom('passkeys')
      .select(['name', 'last_used_at'])
      .where('user_id', '=', w.leadA.id)
      .executeTakeFirstOrThrow();
    expect(passkey.name).toBe('Work laptop');
    expect(passkey.last_used_at).not.toBeNull();
  }, 120_000);

  it('without JavaScript, the sign-in page says passkeys need it and still signs in by e-mail', async () => {
    const page = await (await h.newContext({ javaScriptEnabled: false })).newPage();
    await page.goto(`${origin}/sign-in`);
    expect(await page.getByText('Passkeys need JavaScript').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).count()).toBe(0);
    // (axe needs JavaScript: this page was scanned with it on above.)
    await signInByEmail(page, smtp, await emailOf(w.applicantA), origin);
    expect(page.url()).toBe(`${origin}/`);
  }, 60_000);

  it('an admin requires passkeys; an admin without one is sent to add one first', async () => {
    const page = await (await h.newContext()).newPage();
    await addVirtualAuthenticator(page);
    await signInByEmail(page, smtp, await emailOf(w.admin), origin);
    await page.goto(`${origin}/admin/settings`);
    await page.getByLabel('Yes, require passkeys').check();
    await h.check(page, 'admin-settings');
    await click(page, 'button', 'Save settings');
    // The admin signed in by e-mail alone and has no passkey: asked to add one, and told why.
    expect(page.url()).toBe(`${origin}/sign-in/passkey/required`);
    expect(await textOf(page, 'h1')).toBe('Add a passkey to continue');
    await h.check(page, 'passkey-required');
    await page.goto(`${origin}/account/devices`);
    expect(page.url()).toBe(`${origin}/sign-in/passkey/required`);

    await Promise.all([
      page.waitForURL(/done=added/),
      page.getByRole('button', { name: 'Add a passkey' }).click(),
    ]);
    await page.goto(`${origin}/admin/settings`);
    expect(await page.getByLabel('Yes, require passkeys').isChecked()).toBe(true);

    // Turned off again, for the other tests of this file.
    await page.getByLabel('No, an email link is enough').check();
    await click(page, 'button', 'Save settings');
    expect(await page.getByText('The settings have been saved.').count()).toBe(1);
  }, 120_000);
});
