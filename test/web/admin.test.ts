import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import {
  type BrowserHarness,
  browserAvailable,
  click,
  signInByEmail,
  startMailedBrowserWorld,
  textOf,
} from '../helpers/browser.ts';
import type { startSmtpServer } from '../helpers/jobs.ts';
import type { World } from '../helpers/world.ts';

/**
 * An admin's work in a real Chromium (SPEC §9 "Admins"): sign in by e-mail link, then areas, a new
 * criteria-set version published through its preview, the national summary, people and webhooks.
 * Every page is scanned by axe and photographed (test/web/screenshots/).
 */

const run = browserAvailable() ? it : it.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
}, 60_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

run(
  'an admin manages areas and publishes a criteria-set version through its preview',
  async () => {
    const email = ok(await w.admin.api.get('/me')).email as string;
    const context = await h.newContext();
    const page = await context.newPage();
    await signInByEmail(page, smtp, email);

    await click(page, 'link', 'Administration');
    expect(await textOf(page, 'h1')).toBe('Administration');
    await h.check(page, 'admin-home');

    // Areas: a form sent empty, then a new area.
    await click(page, 'link', 'Areas');
    await h.check(page, 'admin-areas');
    await click(page, 'button', 'Add an area');
    await click(page, 'button', 'Save');
    expect(await textOf(page, '.govuk-error-summary')).toContain("Enter the area's name");
    await h.check(page, 'admin-area-error');
    await page.getByLabel('Name').fill('Swansea');
    await page.getByLabel('Wales').check();
    await page.getByLabel('Local authorities').fill('Swansea\nNeath Port Talbot');
    await click(page, 'button', 'Save');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('The area was added.');
    expect(await textOf(page, 'main')).toContain('Swansea');

    // Streams: the school criteria, then a new version.
    await click(page, 'link', 'Administration');
    await click(page, 'link', 'Streams and criteria');
    await h.check(page, 'admin-streams');
    await click(page, 'link', 'Schools');
    expect(await textOf(page, 'main')).toContain('Criteria: version 1');
    await h.check(page, 'admin-stream');
    await click(page, 'button', 'Publish a new version');
    await h.check(page, 'admin-criteria-form');
    await page
      .locator('#title-0')
      .fill('Staff, governors and pupils understand the experiences of people seeking sanctuary');
    // S3 removed (its row cleared), S4 added in the first blank row.
    await page.locator('#code-7').fill('');
    await page.locator('#process-7').selectOption('');
    await page.locator('#title-7').fill('');
    await page.locator('#code-8').fill('S4');
    await page.locator('#process-8').selectOption('share');
    await page.locator('#title-8').fill('The school speaks up for people seeking sanctuary in its community');
    await page.getByLabel('What changed, for the record').fill('Reworded after the 2026 review');
    await click(page, 'button', 'Preview the changes');

    expect(await textOf(page, 'h1')).toBe('Schools of Sanctuary: version 2');
    const preview = await textOf(page, 'main');
    expect(preview).toContain('Added: 1 criterion');
    expect(preview).toContain('S4 · Share');
    expect(preview).toContain('Removed: 1 criterion');
    expect(preview).toContain('S3 · Share');
    expect(preview).toContain('Reworded: 1 criterion');
    expect(preview).toContain('Applications keep the version they started with');
    await h.check(page, 'admin-criteria-preview');
    expect(ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`)).criteriaSet.version).toBe(1);

    await click(page, 'button', 'Publish version 2');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Version 2 was published.');
    expect(await textOf(page, 'main')).toContain('Criteria: version 2');
    await h.check(page, 'admin-stream-published');
    const stream = ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`));
    expect(stream.criteriaSet.criteria.map((c: { code: string }) => c.code)).toEqual([
      'L1',
      'L2',
      'E1',
      'E2',
      'E3',
      'S1',
      'S2',
      'S4',
    ]);
    await context.close();
  },
  120_000,
);

run(
  'an admin reads the national summary, finds people, invites a lead and adds a webhook',
  async () => {
    const email = ok(await w.admin.api.get('/me')).email as string;
    const context = await h.newContext();
    const page = await context.newPage();
    await signInByEmail(page, smtp, email);

    await page.goto('/admin/summary');
    expect(await textOf(page, 'main')).toContain('Coventry');
    await h.check(page, 'admin-summary');

    await page.goto('/admin/people');
    await h.check(page, 'admin-people');
    await page.getByLabel('Role').selectOption('lead');
    await click(page, 'button', 'Search');
    expect(await textOf(page, 'main')).toContain('Local lead of Cardiff');
    await click(page, 'link', 'Lead B');
    await h.check(page, 'admin-person');

    await page.goto('/admin/people/new');
    await page.getByLabel('Name').fill('Nia Jones');
    await page.getByLabel('Email address').fill('nia.jones@example.org');
    await page.getByLabel('Local lead').check();
    await page.getByLabel('Area they lead').selectOption({ label: 'Cardiff (Wales)' });
    await h.check(page, 'admin-person-form');
    await click(page, 'button', 'Send the invitation');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('nia.jones@example.org');

    await page.goto('/admin/webhooks/new');
    await page.getByLabel('Address').fill('https://93.184.215.14/awards');
    await page.getByLabel('award.AWARDED').check();
    await h.check(page, 'admin-webhook-form');
    await click(page, 'button', 'Add the webhook');
    expect(await textOf(page, 'main')).toContain('This is the only time the secret is shown');
    await h.check(page, 'admin-webhook-created');
    await click(page, 'link', 'See the webhook and its deliveries');
    await h.check(page, 'admin-webhook');
    await click(page, 'button', 'Delete this webhook');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('The webhook was deleted.');
    await h.check(page, 'admin-webhooks');
    await context.close();
  },
  120_000,
);
