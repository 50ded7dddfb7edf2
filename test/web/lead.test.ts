import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { draftOfNewSchool, event, ok, readyDraft, toReviewing } from '../helpers/applications.ts';
import {
  type BrowserHarness,
  browserAvailable,
  click,
  eventually,
  navigate,
  signInByEmail,
  signInLinkIn,
  startMailedBrowserWorld,
  textOf,
} from '../helpers/browser.ts';
import type { ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import type { World } from '../helpers/world.ts';

/**
 * The local lead's area (SPEC §9) in a real Chromium against the real server: sign in, the dashboard,
 * a count followed to its filtered list, paging, the CSV download, a new organisation and a member
 * invited by e-mail. Every page is scanned by axe and photographed (test/web/screenshots/).
 */

const run = browserAvailable() ? describe : describe.skip;
const DRAFTS = 30;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let reviewing: string;

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  for (let i = 0; i < DRAFTS; i++) await draftOfNewSchool(h.t.database.db, w, 'Paging School');
  // One application under review with its panel's reviews outstanding: an item that needs attention.
  reviewing = await readyDraft(h.t.app, w);
  ok(await event(w.applicantA, reviewing, { type: 'SUBMIT' }));
  await toReviewing(h.t.app, w, reviewing, 'Panel');
}, 120_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

const rowCount = (page: Page) => page.locator('table tbody tr').count();

run('the local lead’s area in a browser', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!browserAvailable()) return;
    context = await h.newContext();
    page = await context.newPage();
    await signInByEmail(page, smtp, (await w.leadA.api.get('/me')).body.email as string);
  });

  it('dashboard → a count → its filtered list, paged, and downloaded as CSV', async () => {
    await click(page, 'link', 'Your area');
    expect(await textOf(page, 'h1')).toBe('Coventry');
    expect(await textOf(page, '#overdue-reviews')).toBe('Reviews outstanding: 1');
    expect(
      await page.getByRole('link', { name: 'Hillfields Primary School' }).first().getAttribute('href'),
    ).toBe(`/lead/applications/${reviewing}`);
    await h.check(page, 'lead-dashboard');

    // The number of drafts, in "Applications by state", is a link to exactly those.
    const drafts = page.locator('.govuk-summary-list__row', { hasText: 'Draft' }).getByRole('link');
    expect((await drafts.textContent())?.trim()).toBe(String(DRAFTS));
    await navigate(page, () => drafts.click());
    expect(await textOf(page, 'h1')).toBe('Applications');
    expect(await rowCount(page)).toBe(25);
    await h.check(page, 'lead-applications');

    await click(page, 'link', /^Next/);
    expect(await rowCount(page)).toBe(DRAFTS - 25);
    await click(page, 'link', /^Previous/);
    expect(await rowCount(page)).toBe(25);

    // Searching narrows the same list; the filters stay in the form.
    await page.getByLabel('Organisation name').fill('Paging School 1');
    await click(page, 'button', 'Apply filters');
    expect(await page.getByLabel('Organisation name').inputValue()).toBe('Paging School 1');
    const searched = await rowCount(page);
    expect(searched).toBeGreaterThan(0);
    expect(searched).toBeLessThan(25);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Download as CSV/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('applications.csv');
    const lines = (await readFile(await download.path(), 'utf8'))
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toMatch(/^id,organisationId,organisationName,/);
    expect(lines).toHaveLength(searched + 1);
    expect(lines.slice(1).every((l) => /,Paging School 1\d*,/.test(l) && l.includes(',draft,'))).toBe(true);
  }, 120_000);

  it('adds an organisation and invites a member, whose invitation is e-mailed', async () => {
    await page.goto('/lead/organisations');
    await h.check(page, 'lead-organisations');
    await click(page, 'button', 'Add an organisation');
    await click(page, 'button', 'Add the organisation');
    expect(await textOf(page, '.govuk-error-summary')).toContain('Enter the name of the organisation');
    await h.check(page, 'lead-organisation-error');
    await page.getByLabel('Name of the organisation').fill('Radford Community Library');
    await page.getByLabel('Stream').selectOption({ label: 'Schools of Sanctuary' });
    await page.getByLabel('Phase (optional)').fill('primary');
    await click(page, 'button', 'Add the organisation');
    expect(await textOf(page, 'h1')).toBe('Radford Community Library');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('The organisation has been added.');

    const email = 'new.teacher@radford.example.org';
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Full name').fill('Nia Evans');
    await click(page, 'button', 'Send the invitation');
    expect(await textOf(page, '.govuk-notification-banner')).toContain(
      'We have sent an invitation to that address.',
    );
    await h.check(page, 'lead-organisation');
    const mail = await eventually(() => mailsTo(email).at(-1), 'the invitation e-mail');
    expect(signInLinkIn(mail.raw)).toContain('/sign-in/link?token=');
  }, 120_000);

  it('people: the list and the appraiser invitation form', async () => {
    await page.goto('/lead/people');
    expect(await textOf(page, 'main')).toContain('Appraiser A');
    await h.check(page, 'lead-people');
    await click(page, 'button', 'Invite an appraiser');
    await click(page, 'button', 'Send the invitation');
    expect(await textOf(page, '.govuk-error-summary')).toContain('Select yes if they have lived experience');
    await h.check(page, 'lead-invite-error');
    await page.getByLabel('Full name').fill('Samir Haddad');
    await page.getByLabel('Email address').fill('samir@example.org');
    await page.getByLabel('Yes').check();
    await page.getByLabel('A member of the local City of Sanctuary group').check();
    await click(page, 'button', 'Send the invitation');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('We have sent an invitation');
    await eventually(() => mailsTo('samir@example.org').at(-1), 'the appraiser’s invitation');
  }, 120_000);

  it('in Welsh, the dashboard and a list', async () => {
    await page.goto('/lead?lang=cy');
    expect(await textOf(page, '.govuk-caption-l')).toBe('Eich ardal');
    expect(await textOf(page, '#overdue-reviews')).toBe('Adolygiadau heb eu cwblhau: 1');
    await h.check(page, 'lead-dashboard-cy');
    await click(page, 'link', 'Ceisiadau');
    expect(await textOf(page, 'h1')).toBe('Ceisiadau');
    await h.check(page, 'lead-applications-cy');
    await page.goto('/lead?lang=en');
  }, 120_000);

  it('an admin: the national summary, each area a link to its dashboard', async () => {
    const adminContext = await h.newContext();
    const admin = await adminContext.newPage();
    await signInByEmail(admin, smtp, (await w.admin.api.get('/me')).body.email as string);
    await click(admin, 'link', 'Your area');
    expect(await textOf(admin, 'h1')).toBe('National summary');
    await h.check(admin, 'lead-national');
    await click(admin, 'link', 'Coventry');
    expect(await textOf(admin, 'h1')).toBe('Coventry');
    await adminContext.close();
  }, 120_000);

  it('with JavaScript off: a filtered list and a new organisation', async () => {
    const offContext = await h.newContext({ javaScriptEnabled: false });
    const off = await offContext.newPage();
    await signInByEmail(off, smtp, (await w.leadA.api.get('/me')).body.email as string);
    await off.goto('/lead/applications');
    await off.getByLabel('State').selectOption({ label: 'Panel reviewing' });
    await click(off, 'button', 'Apply filters');
    expect(await rowCount(off)).toBe(1);
    await off.goto('/lead/organisations/new');
    await off.getByLabel('Name of the organisation').fill('Whitley Academy');
    await off.getByLabel('Stream').selectOption({ label: 'Schools of Sanctuary' });
    await click(off, 'button', 'Add the organisation');
    expect(await textOf(off, 'h1')).toBe('Whitley Academy');
    await offContext.close();
  }, 120_000);
});
