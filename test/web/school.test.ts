import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { event, ok, review, SCHOOL_CODES, toReviewing, uploadEvidence } from '../helpers/applications.ts';
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
import { pdf } from '../helpers/multipart.ts';
import { type Actor, createUserWithToken, type World } from '../helpers/world.ts';

/**
 * The school's journey (SPEC §9) in a real Chromium against the real server: from the invitation
 * e-mail to a submitted application with a folder of evidence, then (the lead and the panel acting
 * through the API) feedback, the response, further evidence, resubmission, the award and its
 * certificate; the core path again with JavaScript off; a Welsh pass; submission by keyboard alone.
 * Every page is scanned by axe and photographed (test/web/screenshots/).
 */

const run = browserAvailable() ? describe : describe.skip;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let folder: string;

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  // A school's evidence folder as a teacher keeps it: a subfolder per process, photos loose beside them.
  folder = await mkdtemp(join(tmpdir(), 'sa-school-'));
  const files: [string, Buffer | string][] = [
    ['Evidence/Learn/assembly-plan.pdf', pdf('assembly plan')],
    ['Evidence/Embed/welcome-policy.pdf', pdf('welcome policy')],
    ['Evidence/Share/newsletter.pdf', pdf('newsletter')],
    ['Evidence/notes.txt', 'Things to remember for the panel'],
    ['Evidence/.DS_Store', Buffer.from([0, 0, 0, 1, 66, 117, 100, 49])],
  ];
  for (const [path, content] of files) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), content);
  }
  await writeFile(join(folder, 'minutes.pdf'), pdf('pupil council minutes'));
}, 60_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

let schoolCounter = 0;
/** A new school in area A with a new member, invited by e-mail; returns the member and the invitation link. */
async function invitedTeacher(
  name: string,
): Promise<{ actor: Actor; email: string; orgId: string; link: string }> {
  const n = ++schoolCounter;
  const orgId = ok(
    await w.leadA.api.post('/organisations', {
      name: `${name} Primary School`,
      streamId: w.schoolsStreamId,
      areaId: w.areaA,
      phase: 'primary',
    }),
    201,
  ).id as string;
  const email = `teacher${n}@${name.toLowerCase()}.example.org`;
  const actor = await createUserWithToken(h.t.app, w.admin.api, {
    email,
    name: `Teacher ${name}`,
    grants: [{ role: 'applicant', organisationId: orgId }],
  });
  const before = mailsTo(email).length;
  await h.t.app.signIn.sendInvitation(h.t.database.db, actor.id, { userId: w.admin.id, name: 'Admin' });
  const mail = await eventually(() => mailsTo(email).slice(before).at(-1), `the invitation to ${email}`);
  return { actor, email, orgId, link: signInLinkIn(mail.raw) };
}

/** Follows the link of an e-mail and presses the button: signed in, on the home page. */
async function signIn(page: Page, link: string) {
  await page.goto(link);
  await navigate(page, () => page.getByRole('button', { name: /sign in|mewngofnodi/i }).click());
  await page.waitForURL(`${h.baseUrl}/`);
}

async function click(page: Page, role: 'link' | 'button', name: string | RegExp) {
  await navigate(page, () => page.getByRole(role, { name }).first().click());
}

/** Answers a criterion on its page. */
async function answer(page: Page, applicationId: string, code: string, text: string) {
  await page.goto(`/apply/${applicationId}/criteria/${code}`);
  await page.getByLabel(`What your organisation does for ${code}`).fill(text);
  await click(page, 'button', 'Save answer');
  expect(await textOf(page, '.govuk-notification-banner')).toContain('Your answer has been saved.');
}

const applicationIdOf = (page: Page) => new URL(page.url()).pathname.split('/')[2] as string;

run('the school’s journey in a browser', () => {
  let teacher: Awaited<ReturnType<typeof invitedTeacher>>;
  let context: BrowserContext;
  let page: Page;
  let id: string;

  beforeAll(async () => {
    if (!browserAvailable()) return;
    teacher = await invitedTeacher('Hillfields');
    context = await h.newContext();
    page = await context.newPage();
  });

  it('from the invitation to a submitted application with a folder of evidence', async () => {
    await page.goto(teacher.link);
    expect(await textOf(page, 'h1')).toBe('You have been invited to Sanctuary Awards');
    await h.check(page, 'school-invitation');
    await navigate(page, () => page.getByRole('button', { name: /sign in/i }).click());
    expect(await textOf(page, 'main')).toContain('Hillfields Primary School');
    expect(await textOf(page, 'main')).toContain('No application yet');
    await h.check(page, 'school-home-new');

    // The pledge.
    await click(page, 'link', /Sign the pledge/);
    expect(await textOf(page, 'h1')).toBe('Sign the City of Sanctuary pledge');
    await click(page, 'button', 'Sign the pledge');
    expect(await textOf(page, '.govuk-error-summary')).toContain('Enter the full name of the person signing');
    await h.check(page, 'school-pledge-error');
    await page.getByLabel('Full name of the person signing').fill('Joy Okafor');
    await page.getByLabel('Their role').fill('Headteacher');
    await h.check(page, 'school-pledge');
    await click(page, 'button', 'Sign the pledge');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('The pledge has been signed.');

    // Start: the task list.
    await click(page, 'button', /Start an application/);
    id = applicationIdOf(page);
    expect(await textOf(page, 'h1')).toBe('Your application');
    expect(await textOf(page, 'main')).toContain('You have completed 0 of 8 criteria.');
    await h.check(page, 'school-task-list');

    // A criterion: the answer, then the whole evidence folder (JavaScript sends it, with progress).
    await click(page, 'link', /^L1:/);
    expect(await textOf(page, 'h1')).toMatch(/^L1: /);
    await page
      .getByLabel('What your organisation does for L1')
      .fill('Every class learns why people seek sanctuary.');
    await click(page, 'button', 'Save answer');
    await page.setInputFiles('#folder', join(folder, 'Evidence'));
    // Files in Learn/, Embed/, Share/ are filed under those processes' criteria, the loose one under L1.
    await Promise.all([
      page.waitForURL(/uploaded=4&skipped=1/),
      page.getByRole('button', { name: 'Upload' }).click(),
    ]);
    expect(await textOf(page, '.govuk-notification-banner')).toContain('4 files have been added.');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('1 file was not added');
    expect(await textOf(page, 'table.app-evidence')).toContain('assembly-plan.pdf');
    expect(await textOf(page, 'table.app-evidence')).toContain('notes.txt');
    await h.check(page, 'school-criterion');

    // Files dropped on the page (JavaScript): added to the same upload.
    await page.evaluate(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['%PDF-1.4\\n% dropped\\n%%EOF\\n'], 'dropped.pdf', { type: 'application/pdf' }));
      const zone = document.querySelector('[data-drop-zone]');
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await page.getByText('Files ready to upload: 1').waitFor();
    await Promise.all([page.waitForURL(/uploaded=1/), page.getByRole('button', { name: 'Upload' }).click()]);
    expect(await textOf(page, 'table.app-evidence')).toContain('dropped.pdf');

    for (const code of SCHOOL_CODES.filter((c) => c !== 'L1'))
      await answer(page, id, code, `Our work on ${code}.`);
    await page.goto(`/apply/${id}`);
    expect(await textOf(page, 'main')).toContain('You have completed 8 of 8 criteria.');
    await h.check(page, 'school-task-list-complete');

    await click(page, 'link', 'Check and submit');
    expect(await textOf(page, 'h1')).toBe('Check your answers before you submit');
    await h.check(page, 'school-check');
    await click(page, 'button', 'Submit application');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Your application has been submitted');
    expect(await textOf(page, 'main')).toContain('Submitted: waiting for your local lead to accept it');
    await h.check(page, 'school-submitted');
    const view = ok(await teacher.actor.api.get(`/applications/${id}`));
    expect(view.state).toBe('submitted');
    expect(view.evidenceCounts).toEqual({ L1: 3, L2: 1, E1: 1, E2: 1, E3: 1, S1: 1, S2: 1, S3: 1 });
  }, 120_000);

  it('feedback, the response, the meeting, further evidence, resubmission, the award and its certificate', async () => {
    const panel = await toReviewing(h.t.app, w, id, 'school');
    for (const member of panel) ok(await event(member, id, review('met')));
    ok(
      await event(w.leadA, id, {
        type: 'SEND_FEEDBACK',
        criteria: Object.fromEntries(
          SCHOOL_CODES.map((c) => [
            c,
            c === 'E2'
              ? { judgement: 'further_evidence', feedback: 'Show how pupils shape the welcome.' }
              : { judgement: 'met', feedback: `${c} is clearly met.` },
          ]),
        ),
        questions: ['How do pupils who are new to the country take part in the school council?'],
      }),
    );

    await page.goto('/');
    expect(await textOf(page, 'main')).toContain('Feedback received: the panel is waiting for your response');
    await click(page, 'link', /Read the feedback and respond/);
    expect(await textOf(page, 'main')).toContain('Show how pupils shape the welcome.');
    await page
      .getByLabel(/Question 1: How do pupils/)
      .fill('Each new pupil has a council buddy, and the council meets with interpreters.');
    await h.check(page, 'school-feedback');
    await click(page, 'button', 'Send your response');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Your response has been sent');

    ok(
      await event(w.leadA, id, {
        type: 'SCHEDULE_MEETING',
        at: inDays(10),
        mode: 'in_person',
        location: 'The school hall',
      }),
    );
    await page.reload();
    expect(await textOf(page, 'main')).toContain('The school hall');
    await h.check(page, 'school-meeting');

    ok(
      await event(w.leadA, id, {
        type: 'DECIDE',
        outcome: 'further_evidence',
        rationale: 'Almost there: pupil voice needs showing.',
        requests: [{ criterion: 'E2', request: 'Minutes of a pupil council meeting' }],
        dueBy: inDays(60),
      }),
    );
    await page.goto('/');
    await click(page, 'link', /Add further evidence/);
    expect(await textOf(page, 'main')).toContain('Minutes of a pupil council meeting');
    expect(await textOf(page, 'main')).toMatch(/Send it by \d+ \w+ \d{4}/);
    await h.check(page, 'school-further-evidence');
    // Resubmitting too early names what is missing, as a link.
    await click(page, 'button', 'Send the further evidence');
    expect(await textOf(page, '.govuk-error-summary')).toContain('Add new evidence to E2');
    await click(page, 'link', 'Add new evidence to E2: ');
    await page.setInputFiles('#files', join(folder, 'minutes.pdf'));
    // The upload is held a moment on its way: meanwhile the page shows how much has been sent.
    await page.route('**/evidence?_csrf=*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await route.continue();
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('[data-progress]').waitFor({ state: 'visible' });
    expect(await page.getByRole('progressbar').count()).toBe(1);
    await page.waitForURL(/uploaded=1/);
    await page.unroute('**/evidence?_csrf=*');
    await page.goto(`/apply/${id}`);
    await click(page, 'button', 'Send the further evidence');
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Your further evidence has been sent');

    for (const member of panel) ok(await event(member, id, review('met')));
    ok(await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion is met.' }));
    await page.goto('/');
    expect(await textOf(page, 'main')).toMatch(/Awarded on \d+ \w+ \d{4}, valid until \d+ \w+ \d{4}/);
    await h.check(page, 'school-home-awarded');
    await click(page, 'link', /See the decision/);
    expect(await textOf(page, '.govuk-panel')).toContain('Sanctuary Award');
    expect(await textOf(page, 'main')).toContain('What has happened');
    expect(await textOf(page, 'main')).toContain('Further evidence sent');
    // The feedback of the round that had one stays readable, with the response.
    expect(await textOf(page, 'main')).toContain('From round 1 of the review.');
    expect(await textOf(page, 'main')).toContain('Each new pupil has a council buddy');
    await h.check(page, 'school-awarded');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the certificate (PDF)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^sanctuary-award-.*\.pdf$/);

    await click(page, 'link', 'Notifications');
    expect(await textOf(page, 'h1')).toBe('Your notifications');
    await h.check(page, 'school-notifications');
  }, 120_000);

  it('a Welsh pass over the main pages', async () => {
    await page.goto(`/apply/${id}`);
    await navigate(page, () => page.getByRole('link', { name: 'Cymraeg' }).first().click());
    expect(await page.getAttribute('html', 'lang')).toBe('cy');
    expect(await textOf(page, 'h1')).toBe('Eich cais');
    expect(await textOf(page, 'main')).toContain('Beth sydd wedi digwydd');
    await h.check(page, 'school-awarded-cy');
    for (const [path, heading, name] of [
      ['/', 'Teacher Hillfields', 'school-home-cy'],
      [`/apply/${id}/tasks`, 'Eich cais', 'school-task-list-cy'],
      [`/apply/${id}/criteria/E2`, /^E2: /, 'school-criterion-cy'],
      ['/account/notifications', 'Eich hysbysiadau', 'school-notifications-cy'],
    ] as const) {
      await page.goto(path);
      if (typeof heading === 'string') expect(await textOf(page, 'h1')).toBe(heading);
      else expect(await textOf(page, 'h1')).toMatch(heading);
      await h.check(page, name);
    }
    expect(await textOf(page, 'main')).not.toContain('Your notifications');
    await navigate(page, () => page.getByRole('link', { name: 'English' }).first().click());
    expect(await page.getAttribute('html', 'lang')).toBe('en');
  }, 60_000);

  it('a renewal starts pre-filled from the award’s answers', async () => {
    await page.goto('/');
    await click(page, 'button', 'Start your renewal');
    const renewal = applicationIdOf(page);
    expect(renewal).not.toBe(id);
    expect(await textOf(page, 'main')).toContain('Renewal: Draft: you are still preparing it');
    // The answers are carried over; the evidence is new for each award.
    expect(await page.locator('.govuk-task-list__status').filter({ hasText: 'In progress' }).count()).toBe(8);
    await page.goto(`/apply/${renewal}/criteria/L1`);
    expect(await page.getByLabel('What your organisation does for L1').inputValue()).toBe(
      'Every class learns why people seek sanctuary.',
    );
    await page.goto('/');
    expect(await textOf(page, 'main')).toContain('Renewal: Draft');
    expect(await textOf(page, 'main')).toContain('Earlier applications');
    await h.check(page, 'school-home-renewing');
  }, 60_000);
});

run('with JavaScript off', () => {
  it('signs the pledge, answers, uploads a folder and submits', async () => {
    const teacher = await invitedTeacher('Stoke');
    const context = await h.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, teacher.link);
    await click(page, 'link', /Sign the pledge/);
    await page.getByLabel('Full name of the person signing').fill('Sam Ellis');
    await page.getByLabel('Their role').fill('Chair of governors');
    await click(page, 'button', 'Sign the pledge');
    await click(page, 'button', /Start an application/);
    const id = applicationIdOf(page);
    await page.goto(`/apply/${id}/criteria/S1`);
    // No script: the drop zone and the progress bar stay hidden, the form posts as it is.
    expect(await page.locator('[data-drop-zone]').isVisible()).toBe(false);
    await page.setInputFiles('#folder', join(folder, 'Evidence'));
    await click(page, 'button', 'Upload');
    expect(new URL(page.url()).search).toBe('?uploaded=4&skipped=1');
    for (const code of SCHOOL_CODES) await answer(page, id, code, `Our work on ${code}.`);
    await page.goto(`/apply/${id}`);
    await click(page, 'link', 'Check and submit');
    await click(page, 'button', 'Submit application');
    expect(await textOf(page, 'main')).toContain('Your application has been submitted');

    // axe needs JavaScript: the same pages again as the same person with it on.
    const scan = await h.newContext();
    const again = await scan.newPage();
    const link = await (async () => {
      const before = mailsTo(teacher.email).length;
      await h.t.app.signIn.sendInvitation(h.t.database.db, teacher.actor.id, null);
      return signInLinkIn((await eventually(() => mailsTo(teacher.email)[before], 'a link')).raw);
    })();
    await signIn(again, link);
    for (const [path, name] of [
      ['/', 'school-nojs-home'],
      [`/apply/${id}`, 'school-nojs-submitted'],
      [`/apply/${id}/criteria/S1`, 'school-nojs-criterion'],
    ] as const) {
      await again.goto(path);
      await h.check(again, name);
    }
    await context.close();
    await scan.close();
  }, 120_000);
});

run('by keyboard alone', () => {
  it('checks and submits with Tab and Enter only', async () => {
    const teacher = await invitedTeacher('Foleshill');
    ok(
      await teacher.actor.api.post(`/organisations/${teacher.orgId}/pledge`, {
        signatoryName: 'Ana Silva',
        signatoryRole: 'Headteacher',
      }),
      201,
    );
    const id = ok(await teacher.actor.api.post('/applications', { organisationId: teacher.orgId }), 201)
      .id as string;
    for (const code of SCHOOL_CODES)
      ok(await teacher.actor.api.put(`/applications/${id}/answers/${code}`, { text: `Our work on ${code}` }));
    ok(await uploadEvidence(h.t.app, teacher.actor, id, SCHOOL_CODES, `keyboard-${id}`), 201);

    const context = await h.newContext();
    const page = await context.newPage();
    await signIn(page, teacher.link);

    /** Presses Tab until the focused element's text matches, then Enter. */
    const tabTo = async (text: RegExp) => {
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        const focused = String(await page.evaluate("document.activeElement?.textContent?.trim() ?? ''"));
        if (text.test(focused)) {
          await navigate(page, () => page.keyboard.press('Enter'));
          return;
        }
      }
      throw new Error(`no focusable element matching ${text}`);
    };
    await tabTo(/^Continue the application/);
    expect(await textOf(page, 'h1')).toBe('Your application');
    await tabTo(/^Check and submit$/);
    expect(await textOf(page, 'h1')).toBe('Check your answers before you submit');
    await tabTo(/^Submit application$/);
    expect(await textOf(page, 'main')).toContain('Your application has been submitted');
    expect(ok(await teacher.actor.api.get(`/applications/${id}`)).state).toBe('submitted');
    await context.close();
  }, 60_000);
});
