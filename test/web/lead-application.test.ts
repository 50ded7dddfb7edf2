import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { event, ok, panelOfThree, readyDraft, review } from '../helpers/applications.ts';
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
import type { Actor, World } from '../helpers/world.ts';

/**
 * The local lead's application page (SPEC §9 "Local leads") in a real Chromium against the real
 * server: a lead takes a submitted application through intake, panel forming, the reviews (sent by the
 * panel through the API), feedback, the meeting and the decision to an award. Every state of the page
 * is scanned by axe and photographed (test/web/screenshots/lead-application-*.png).
 */

const run = browserAvailable() ? it : it.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let context: BrowserContext;
let page: Page;
let id: string;
let panel: Actor[];

const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  id = await readyDraft(h.t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  panel = await panelOfThree(h.t.app, w, 'browser');

  // The lead signs in with a link e-mailed to them.
  context = await h.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const email = ((await w.leadA.api.get('/me')).body as { email: string }).email;
  const before = mailsTo(email).length;
  await page.goto('/sign-in');
  await page.getByLabel(/email address/i).fill(email);
  await navigate(page, () => page.getByRole('button', { name: /sign-in link/i }).click());
  const mail = await eventually(() => mailsTo(email)[before], `a sign-in e-mail to ${email}`);
  await page.goto(signInLinkIn(mail.raw));
  await navigate(page, () => page.getByRole('button', { name: /sign in/i }).click());
  await page.waitForURL(`${h.baseUrl}/`);
}, 120_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

async function press(name: string | RegExp) {
  await navigate(page, () => page.getByRole('button', { name }).first().click());
}

const feedbackForm = () => page.locator('form[action$="/feedback"]');
const banner = () => textOf(page, '.govuk-notification-banner');

run(
  'a lead takes an application from intake to an award in the browser',
  async () => {
    // Intake: the summary, the answers and evidence, accept or return.
    await page.goto(`/lead/applications/${id}`);
    expect(await textOf(page, 'h1')).toBe('Hillfields Primary School');
    expect(await textOf(page, 'main')).toContain('Submitted: waiting for your local lead to accept it');
    expect(await textOf(page, 'main')).toContain('Our work on L1');
    await h.check(page, 'lead-application-intake');
    await press('Return it to the organisation');
    expect(await textOf(page, '.govuk-error-summary')).toContain(
      'Enter why you are returning the application',
    );
    await h.check(page, 'lead-application-intake-error');
    await press('Accept the application');
    expect(await banner()).toContain('The application has been accepted');

    // Panel forming: each addition re-renders what the panel still needs.
    const hints = () => textOf(page, '#panel-hints');
    expect(await hints()).toContain('At least 3 members (it has 0)');
    await page.getByLabel('Panel browser 2', { exact: true }).check();
    await press('Add to the panel');
    expect(await banner()).toContain('added to the panel');
    expect(await hints()).toContain('At least 3 members (it has 1)');
    expect(await hints()).toContain('A member with lived experience of seeking sanctuary');
    await page.getByLabel('Panel browser 3', { exact: true }).check();
    await press('Add to the panel');
    await h.check(page, 'lead-application-panel');
    await page.getByLabel('Panel browser 1', { exact: true }).check();
    await press('Add to the panel');
    expect(await page.locator('#panel-hints').count()).toBe(0);
    // Removing one brings the hint back; adding them again clears it.
    await press('Remove Panel browser 3');
    expect(await hints()).toContain('At least 3 members (it has 2)');
    await page.getByLabel('Panel browser 3', { exact: true }).check();
    await press('Add to the panel');
    await h.check(page, 'lead-application-panel-complete');
    await press('Start the review');
    expect(await banner()).toContain('The panel can now review the application');
    expect(await textOf(page, 'main')).toContain('The panel is reviewing it');

    // The panel reviews (through the API); the lead sees the reviews side by side.
    ok(await event(panel[0], id, review('met')));
    ok(await event(panel[1], id, review('met')));
    const mixed = review('met');
    (mixed.criteria as Record<string, { judgement: string; comment: string }>).S3 = {
      judgement: 'not_yet',
      comment: 'Little shared beyond the school yet',
    };
    ok(await event(panel[2], id, mixed));
    await page.reload();
    const table = await textOf(page, 'table.app-reviews');
    expect(table).toContain('3 of 3 met');
    expect(table).toContain('2 of 3 met');
    expect(table).toContain('Little shared beyond the school yet');
    await h.check(page, 'lead-application-reviews');

    // The feedback, pre-filled from the reviews: the lead agrees S3 is met after all, and asks a question.
    expect(
      await feedbackForm()
        .getByRole('group', { name: /^S3:/ })
        .getByLabel('Further evidence needed')
        .isChecked(),
    ).toBe(true);
    await feedbackForm().getByRole('group', { name: /^S3:/ }).getByLabel('Met').check();
    await page
      .getByLabel('Questions for the organisation (optional)')
      .fill('How do families hear about your work?');
    await press('Send the feedback');
    expect(await banner()).toContain('The feedback has been sent');
    ok(await event(w.applicantA, id, { type: 'RESPOND', answers: ['Our newsletter and the school fair'] }));

    // The meeting: arranged, then recorded.
    await page.reload();
    expect(await textOf(page, 'main')).toContain('Our newsletter and the school fair');
    const next = new Date(Date.now() + 7 * 86_400_000);
    await page.locator('#meeting-day').fill(String(next.getUTCDate()));
    await page.locator('#meeting-month').fill(String(next.getUTCMonth() + 1));
    await page.locator('#meeting-year').fill(String(next.getUTCFullYear()));
    await page.getByLabel('Time', { exact: true }).fill('10:00');
    await page.getByLabel('In person').check();
    await page.getByLabel('Where (or the link for an online meeting)').fill('The school library');
    await press('Save the meeting');
    expect(await banner()).toContain('The meeting has been arranged');
    const today = new Date();
    await page.locator('#held-day').fill(String(today.getUTCDate()));
    await page.locator('#held-month').fill(String(today.getUTCMonth() + 1));
    await page.locator('#held-year').fill(String(today.getUTCFullYear()));
    await page.getByLabel('Notes').fill('We met the pupil council and the head.');
    await press('Record the meeting');
    expect(await banner()).toContain('The meeting has been recorded');

    // The decision: an award.
    await page.getByLabel('Awarded', { exact: true }).check();
    await page.getByLabel('Reasons for the decision').fill('Every criterion is met: a welcoming school.');
    await h.check(page, 'lead-application-decision');
    await press('Record the decision');
    expect(await banner()).toContain('The decision has been recorded');
    expect(await textOf(page, 'main')).toContain('Every criterion is met: a welcoming school.');
    expect(await textOf(page, '#history ~ ol')).toContain('Decision made');
    await h.check(page, 'lead-application-awarded');
    expect(await textOf(page, 'main')).toContain('Decision');

    // The same page in Welsh.
    await navigate(page, () => page.getByRole('link', { name: 'Cymraeg' }).first().click());
    expect(await textOf(page, '#history')).toBe('Beth sydd wedi digwydd');
    await h.check(page, 'lead-application-welsh');
    const view = (await w.leadA.api.get(`/applications/${id}`)).body;
    expect(view.state).toBe('awarded');
    expect(view.awardId).toBeDefined();
  },
  180_000,
);
