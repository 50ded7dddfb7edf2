import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import {
  type BrowserHarness,
  browserAvailable,
  eventually,
  navigate,
  signInLinkIn,
  startMailedBrowserWorld,
  textOf,
} from '../helpers/browser.ts';
import type { ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { createUserWithToken, type World } from '../helpers/world.ts';

/**
 * The pages and sign-in (SPEC §9, §10) in a real Chromium against the real server, with e-mail
 * captured by an in-process SMTP server. Every page visited is scanned by axe (WCAG 2.2 AA).
 */

const run = browserAvailable() ? describe : describe.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let teacher: { id: string; email: string; token: string };

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  const email = 'priya.shah@hillfields.example.org';
  const actor = await createUserWithToken(h.t.app, w.admin.api, {
    email,
    name: 'Priya Shah',
    grants: [{ role: 'applicant', organisationId: w.orgA }],
  });
  teacher = { id: actor.id, email, token: actor.token };
  const pledge = await actor.api.post(`/organisations/${w.orgA}/pledge`, {
    signatoryName: 'Joy Okafor',
    signatoryRole: 'Headteacher',
  });
  expect(pledge.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

/** Mails sent to `email`. */
const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

/** Asks for a link on the sign-in page and returns the one that arrives by e-mail. */
async function requestLink(page: Page, email: string, check?: string, typed = email): Promise<string> {
  const before = mailsTo(email).length;
  await page.goto('/sign-in');
  await page.getByLabel(/email address|cyfeiriad e-bost/i).fill(typed);
  await navigate(page, () => page.getByRole('button', { name: /sign-in link|dolen fewngofnodi/i }).click());
  await page.waitForURL('**/sign-in');
  if (check) await h.check(page, check);
  const mail = await eventually(() => mailsTo(email)[before], `a sign-in e-mail to ${email}`);
  return signInLinkIn(mail.raw);
}

/** Follows a link from an e-mail and presses the button. */
async function followLink(page: Page, link: string, check?: string) {
  await page.goto(link);
  if (check) await h.check(page, check);
  await navigate(page, () => page.getByRole('button', { name: /sign in|mewngofnodi/i }).click());
  await page.waitForURL(`${h.baseUrl}/`);
}

async function signedInContext(email = teacher.email, options = {}): Promise<BrowserContext> {
  const context = await h.newContext(options);
  const page = await context.newPage();
  await followLink(page, await requestLink(page, email));
  await page.close();
  return context;
}

run('signing in by e-mail link', () => {
  it('the home page says what the service is and offers sign-in; the sign-in link arrives by e-mail; the confirm button signs in', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/');
    expect(await textOf(page, 'h1')).toBe('Sanctuary Awards');
    expect(await textOf(page, '.govuk-skip-link')).toBe('Skip to main content');
    await h.check(page, 'home-signed-out');

    await navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    await page.waitForURL('**/sign-in');
    await h.check(page, 'sign-in');

    // No address: the form again, with an error summary linked to the field.
    await navigate(page, () => page.getByRole('button', { name: 'Email me a sign-in link' }).click());
    expect(await textOf(page, '.govuk-error-summary')).toContain('Enter your email address');
    expect(await page.title()).toMatch(/^Error: Sign in/);
    await h.check(page, 'sign-in-error');

    // Addresses match whatever their case.
    const link = await requestLink(page, teacher.email, 'check-email', teacher.email.toUpperCase());
    expect(await textOf(page, 'h1')).toBe('Check your email');
    expect(await textOf(page, 'main')).toContain(`If ${teacher.email.toUpperCase()} has an account`);
    const mail = mailsTo(teacher.email).at(-1) as ReceivedMail;
    expect(mail.subject).toBe('Your link to sign in to Sanctuary Awards');
    expect(mail.from).toBe('awards@example.org');
    expect(link.startsWith(`${h.baseUrl}/sign-in/link?token=`)).toBe(true);

    // Opening the link (as a mail scanner would) does not use it: only the button does.
    await page.goto(link);
    await page.goto(link);
    expect(await textOf(page, 'h1')).toBe('Sign in to Sanctuary Awards');
    await h.check(page, 'sign-in-confirm');
    await navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    await page.waitForURL(`${h.baseUrl}/`);
    expect(await textOf(page, 'h1')).toBe('Priya Shah');
    expect(await textOf(page, 'main')).toContain('Hillfields Primary School');
    expect(await textOf(page, 'main')).toContain('Coventry');
    expect(await textOf(page, 'main')).toContain('by Joy Okafor');
    await h.check(page, 'home-signed-in');
    // On a phone's width the navigation folds into a menu button (JavaScript on).
    await page.setViewportSize({ width: 375, height: 800 });
    // GOV.UK Frontend's script builds the menu button once it runs: wait for it rather than race it.
    const menu = page.getByRole('button', { name: 'Menu' });
    await menu.waitFor({ state: 'visible' });
    expect(await menu.isVisible()).toBe(true);
    await h.check(page, 'home-signed-in-narrow');
    await page.setViewportSize({ width: 1024, height: 768 });

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Host-sa_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(session?.expires).toBe(-1); // ends with the browser; the server ends it sooner if idle

    // The link was used: following it again is refused with a clear page.
    await page.goto(link);
    expect(await textOf(page, 'h1')).toBe('This sign-in link cannot be used');
    await h.check(page, 'sign-in-link-refused');
    await context.close();
  });

  it('works the same with JavaScript off (pages scanned again with JavaScript on)', async () => {
    const context = await h.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/');
    await navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    await navigate(page, () => page.getByRole('button', { name: 'Email me a sign-in link' }).click());
    expect(await textOf(page, '.govuk-error-summary')).toContain('Enter your email address');
    const link = await requestLink(page, teacher.email);
    await followLink(page, link);
    expect(await textOf(page, 'h1')).toBe('Priya Shah');
    await navigate(page, () => page.getByRole('link', { name: 'Your signed-in devices' }).click());
    expect(await textOf(page, 'h1')).toBe('Your signed-in devices');
    await navigate(page, () => page.getByRole('button', { name: 'Sign out', exact: true }).click());
    expect(await textOf(page, 'h1')).toBe('You have signed out');

    // axe needs JavaScript: the same pages, re-opened with it on, as the same signed-in person.
    const scan = await signedInContext();
    const again = await scan.newPage();
    for (const [path, name] of [
      ['/', 'nojs-home'],
      ['/account/devices', 'nojs-devices'],
      ['/signed-out', 'nojs-signed-out'],
    ] as const) {
      await again.goto(path);
      await h.check(again, name);
    }
    await context.close();
    await scan.close();
  });

  it('an expired link is refused, and an address without an account gets the same page and no e-mail', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    const link = await requestLink(page, teacher.email);
    await h.t.database.db
      .updateTable('sign_in_links')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', teacher.id)
      .execute();
    await page.goto(link);
    expect(await textOf(page, 'h1')).toBe('This sign-in link cannot be used');
    expect(await textOf(page, 'main')).toContain('within 15 minutes');

    const nobody = `nobody.${Date.now()}@example.org`;
    await page.goto('/sign-in');
    await page.getByLabel('What is your email address?').fill(nobody);
    await navigate(page, () => page.getByRole('button', { name: 'Email me a sign-in link' }).click());
    expect(await textOf(page, 'main')).toContain(`If ${nobody} has an account, we have sent a link`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mailsTo(nobody)).toEqual([]);
    await context.close();
  });
});

run('sessions', () => {
  it('signing out ends the session; the devices page then asks to sign in', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    await page.goto('/');
    await navigate(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect(await textOf(page, 'h1')).toBe('You have signed out');
    await h.check(page, 'signed-out');
    await page.goto('/account/devices');
    await page.waitForURL('**/sign-in');
    await context.close();
  });

  it('"Your signed-in devices" lists each device; signing another one out ends its session there', async () => {
    const laptop = await signedInContext();
    const phone = await signedInContext();
    const page = await laptop.newPage();
    await page.goto('/account/devices');
    const rows = page.locator('tbody tr');
    const before = await rows.count();
    expect(before).toBeGreaterThanOrEqual(2);
    expect(await textOf(page, 'tbody')).toContain('Chrome on Linux');
    expect(await page.locator('tbody tr', { hasText: 'This device' }).count()).toBe(1);
    await h.check(page, 'devices');

    const newest = await h.t.database.db
      .selectFrom('sessions')
      .select('id')
      .orderBy('created_at', 'desc')
      .executeTakeFirstOrThrow();
    const phoneRow = page.locator('tbody tr', {
      has: page.locator(`form[action="/account/devices/${newest.id}/sign-out"]`),
    });
    await navigate(page, () => phoneRow.getByRole('button', { name: /Sign out/ }).click());
    expect(await textOf(page, '.govuk-notification-banner')).toContain('That device has been signed out');
    expect(await rows.count()).toBe(before - 1);
    await h.check(page, 'devices-revoked');

    const phonePage = await phone.newPage();
    await phonePage.goto('/');
    expect(await phonePage.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await page.goto('/');
    expect(await textOf(page, 'h1')).toBe('Priya Shah');
    await laptop.close();
    await phone.close();
  });

  it('a form sent without its CSRF token is refused with a 403 page', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    await page.goto('/');
    const response = page.waitForResponse((r) => r.url().endsWith('/sign-out'));
    // A form posted from the page itself, but without the token (as a forged one would be).
    await page.evaluate(
      "const f = document.createElement('form'); f.method = 'post'; f.action = '/sign-out'; document.body.append(f); f.submit();",
    );
    expect((await response).status()).toBe(403);
    expect(await textOf(page, 'h1')).toBe('This form has expired');
    await h.check(page, 'csrf-refused');
    // Still signed in: nothing happened.
    await page.goto('/');
    expect(await textOf(page, 'h1')).toBe('Priya Shah');
    await context.close();
  });

  it('a bearer token opens no page, and the session cookie opens no API route', async () => {
    const withToken = await h.browser.newContext({
      baseURL: h.baseUrl,
      extraHTTPHeaders: { authorization: `Bearer ${teacher.token}` },
    });
    const page = await withToken.newPage();
    await page.goto('/');
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await page.goto('/account/devices');
    await page.waitForURL('**/sign-in');
    await withToken.close();

    const session = await signedInContext();
    const api = await session.request.get('/me');
    expect(api.status()).toBe(401);
    expect(api.headers()['content-type']).toMatch(/application\/problem\+json/);
    await session.close();
  });

  it('an unknown page answers the page-not-found page to a browser', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    expect(await textOf(page, 'h1')).toBe('Page not found');
    await h.check(page, 'not-found');
    await context.close();
  });

  it('the accessibility statement and the privacy page', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/');
    await navigate(page, () => page.getByRole('link', { name: 'Accessibility statement' }).click());
    expect(await textOf(page, 'h1')).toBe('Accessibility statement for Sanctuary Awards');
    await h.check(page, 'accessibility');
    await navigate(page, () => page.getByRole('link', { name: 'Privacy' }).click());
    expect(await textOf(page, 'h1')).toBe('Privacy');
    await h.check(page, 'privacy');
    await context.close();
  });
});

run('English and Welsh', () => {
  it('the toggle shows the page in Welsh, the choice is kept through sign-in and stored for the person', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/');
    await navigate(page, () => page.getByRole('link', { name: 'Cymraeg' }).first().click());
    await page.waitForURL(`${h.baseUrl}/`);
    expect(await page.getAttribute('html', 'lang')).toBe('cy');
    expect(await textOf(page, 'h1')).toBe('Gwobrau Noddfa');
    expect(await textOf(page, '.govuk-skip-link')).toBe("Neidio i'r prif gynnwys");
    await h.check(page, 'home-signed-out-cy');

    const link = await requestLink(page, teacher.email, 'check-email-cy');
    expect((mailsTo(teacher.email).at(-1) as ReceivedMail).subject).toBe(
      'Eich dolen i fewngofnodi i Wobrau Noddfa',
    );
    await followLink(page, link, 'sign-in-confirm-cy');
    expect(await page.getAttribute('html', 'lang')).toBe('cy');
    expect(await textOf(page, 'main')).toContain('Wedi mewngofnodi fel');
    await h.check(page, 'home-signed-in-cy');
    const row = await h.t.database.db
      .selectFrom('users')
      .select('locale')
      .where('id', '=', teacher.id)
      .executeTakeFirstOrThrow();
    expect(row.locale).toBe('cy');
    await page.goto('/account/devices');
    await h.check(page, 'devices-cy');

    // Another browser, which has never chosen: the person's stored choice applies once signed in.
    const other = await signedInContext();
    const otherPage = await other.newPage();
    await otherPage.goto('/');
    expect(await otherPage.getAttribute('html', 'lang')).toBe('cy');

    // Back to English, from the footer's link this time.
    await navigate(page, () => page.getByRole('contentinfo').getByRole('link', { name: 'English' }).click());
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await otherPage.goto('/');
    expect(await otherPage.getAttribute('html', 'lang')).toBe('en');
    await context.close();
    await other.close();
  });
});
