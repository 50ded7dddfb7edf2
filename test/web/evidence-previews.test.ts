import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { BrowserContext } from 'playwright-core';
import { draftOfNewSchool } from '../helpers/applications.ts';
import {
  type BrowserHarness,
  browserAvailable,
  eventually,
  navigate,
  signInLinkIn,
  startMailedBrowserWorld,
} from '../helpers/browser.ts';
import type { startSmtpServer } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';
import { jpegWithLocation } from '../helpers/photos.ts';
import type { World } from '../helpers/world.ts';

/** The school's criterion page shows image evidence with its preview (SPEC §6, §9), in Chromium. */

const run = browserAvailable() ? it : it.skip;

let h: BrowserHarness;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let applicationId: string;
let photoId: string;

beforeAll(async () => {
  if (!browserAvailable()) return;
  ({ h, w, smtp } = await startMailedBrowserWorld());
  applicationId = await draftOfNewSchool(h.t.database.db, w, 'Preview school');
  const { body, contentType } = multipart({ criteria: 'L1' }, [
    { filename: 'garden.jpg', content: await jpegWithLocation() },
    { filename: 'minutes.pdf', content: '%PDF-1.4\n% minutes\n%%EOF\n' },
  ]);
  const res = await h.t.app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { authorization: `Bearer ${w.applicantA.token}`, 'content-type': contentType },
    payload: body,
  });
  expect(res.statusCode).toBe(201);
  photoId = JSON.parse(res.body).items.find((i: { filename: string }) => i.filename === 'garden.jpg').id;
}, 60_000);

afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

async function signedIn(email: string, javaScriptEnabled = true): Promise<BrowserContext> {
  const context = await h.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const before = smtp.mails.filter((m) => m.to.includes(email)).length;
  await page.goto('/sign-in');
  await page.getByLabel(/email address/i).fill(email);
  await navigate(page, () => page.getByRole('button', { name: /sign-in link/i }).click());
  const mail = await eventually(() => smtp.mails.filter((m) => m.to.includes(email))[before], 'the e-mail');
  await page.goto(signInLinkIn(mail.raw));
  await navigate(page, () => page.getByRole('button', { name: /sign in/i }).click());
  await page.close();
  return context;
}

const emailOf = async (actor: World['applicantA']) => (await actor.api.get('/me')).body.email as string;

run(
  'the criterion page shows an image item with its preview, and says its location was removed',
  async () => {
    for (const javaScriptEnabled of [true, false]) {
      const context = await signedIn(await emailOf(w.applicantA), javaScriptEnabled);
      const page = await context.newPage();
      await page.goto(`/apply/${applicationId}/criteria/L1`);
      const preview = page.getByRole('img', { name: 'Preview of garden.jpg' });
      await preview.waitFor();
      // Loaded under the pages' Content-Security-Policy, turned upright (the photo's orientation is 6).
      const size = await preview.evaluate((img) => {
        const loaded = img as unknown as { naturalWidth: number; naturalHeight: number };
        return [loaded.naturalWidth, loaded.naturalHeight];
      });
      expect(size).toEqual([64, 96]);
      expect(await page.getByRole('img').count()).toBe(1); // the PDF has none
      expect(await page.locator('main').textContent()).toContain('Location data removed from this file');
      if (javaScriptEnabled) await h.check(page, 'criterion-with-preview');
      const answer = await context.request.get(`/apply/${applicationId}/evidence/${photoId}/preview`);
      expect(answer.status()).toBe(200);
      expect(answer.headers()['content-type']).toBe('image/webp');
      expect(answer.headers()['cache-control']).toBe('private, max-age=86400');
      await context.close();
    }
  },
);

run('another school’s preview is the page-not-found page', async () => {
  const context = await signedIn(await emailOf(w.applicantB));
  const page = await context.newPage();
  const answer = await page.goto(`/apply/${applicationId}/evidence/${photoId}/preview`);
  expect(answer?.status()).toBe(404);
  expect(await page.locator('h1').textContent()).toBe('Page not found');
  await h.check(page, 'preview-not-found');
  await context.close();
});
