import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { exe, pdf } from '../evidence/fixtures.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
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
import type { World } from '../helpers/world.ts';

/**
 * The criterion page's upload with JavaScript on goes through tus (resumable): a file chosen in the
 * file input arrives, also when its first piece is cut off on the way, and is listed; a refused file
 * is named in the page's error summary. Pages are scanned by axe and photographed.
 */
const run = browserAvailable() ? describe : describe.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let folder: string;

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  folder = await mkdtemp(join(tmpdir(), 'sa-tus-'));
  await writeFile(join(folder, 'assembly-video-notes.pdf'), pdf(randomBytes(1024 * 1024).toString('hex')));
  await writeFile(join(folder, 'invoice.pdf'), exe());
}, 60_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

async function signInAsApplicant(page: Page) {
  const { email } = await h.t.database.db
    .selectFrom('users')
    .select('email')
    .where('id', '=', w.applicantA.id)
    .executeTakeFirstOrThrow();
  const before = smtp.mails.filter((m: ReceivedMail) => m.to.includes(email)).length;
  await h.t.app.signIn.sendInvitation(h.t.database.db, w.applicantA.id, null);
  const mail = await eventually(
    () => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email))[before],
    'the sign-in link',
  );
  await page.goto(signInLinkIn(mail.raw));
  await navigate(page, () => page.getByRole('button', { name: /sign in/i }).click());
}

run('resumable uploads on the criterion page', () => {
  it('a file goes through tus with progress, survives a cut piece, and is listed; a refusal is shown', async () => {
    const id = await draftOfNewSchool(h.t.database.db, w, 'Tus browser school');
    const context = await h.newContext();
    const page = await context.newPage();
    await signInAsApplicant(page);
    await page.goto(`/apply/${id}/criteria/L1`);
    await h.check(page, 'tus-criterion');

    const tusRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes(`/apply/${id}/uploads`)) tusRequests.push(r.method());
    });
    // The first piece is cut off on its way, as a school network drops: the client asks where the
    // server stopped and sends the rest.
    let cut = false;
    await page.route(`**/apply/${id}/uploads/*`, async (route) => {
      if (route.request().method() === 'PATCH' && !cut) {
        cut = true;
        return route.abort('connectionreset');
      }
      return route.continue();
    });
    await page.setInputFiles('#files', join(folder, 'assembly-video-notes.pdf'));
    await Promise.all([page.waitForURL(/uploaded=1/), page.getByRole('button', { name: 'Upload' }).click()]);
    expect(cut).toBe(true);
    expect(tusRequests).toContain('POST');
    expect(tusRequests).toContain('HEAD');
    expect(tusRequests.filter((m) => m === 'PATCH').length).toBeGreaterThanOrEqual(2);
    expect(await textOf(page, '.govuk-notification-banner')).toContain('1 file has been added.');
    expect(await textOf(page, 'table.app-evidence')).toContain('assembly-video-notes.pdf');
    const rows = await h.t.database.db
      .selectFrom('evidence')
      .select(['filename', 'criteria'])
      .where('application_id', '=', id)
      .execute();
    expect(rows).toEqual([{ filename: 'assembly-video-notes.pdf', criteria: ['L1'] }]);
    await h.check(page, 'tus-criterion-uploaded');

    // A program under a PDF's name: refused once it arrived, named in the error summary.
    await page.setInputFiles('#files', join(folder, 'invoice.pdf'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.govuk-error-summary').waitFor();
    expect(await textOf(page, '.govuk-error-summary')).toContain('invoice.pdf');
    await h.check(page, 'tus-criterion-refused');
    expect(
      await h.t.database.db.selectFrom('evidence').select('id').where('application_id', '=', id).execute(),
    ).toHaveLength(1);
  }, 120_000);

  it('the pages’ tus door needs the session and the page’s CSRF token', async () => {
    const id = await draftOfNewSchool(h.t.database.db, w, 'Tus browser school');
    const headers = { 'tus-resumable': '1.0.0', 'upload-length': '100' };
    const noSession = await h.t.app.inject({ method: 'POST', url: `/apply/${id}/uploads`, headers });
    expect(noSession.statusCode).toBe(403);
    const patch = await h.t.app.inject({
      method: 'PATCH',
      url: `/apply/${id}/uploads/${'0'.repeat(32)}`,
      headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      payload: Buffer.from('x'),
    });
    expect(patch.statusCode).toBe(403);
    expect(patch.json().message).toBeTruthy();
    // An API token is no substitute for the session and its CSRF token.
    const withToken = await h.t.app.inject({
      method: 'HEAD',
      url: `/apply/${id}/uploads/${'0'.repeat(32)}`,
      headers: { ...headers, authorization: `Bearer ${w.applicantA.token}` },
    });
    expect(withToken.statusCode).toBe(403);
  });
});
