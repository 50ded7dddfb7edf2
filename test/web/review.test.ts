import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { event, ok, SCHOOL_CODES } from '../helpers/applications.ts';
import {
  type BrowserHarness,
  browserAvailable,
  eventually,
  navigate,
  signInByEmail,
  startMailedBrowserWorld,
  textOf,
} from '../helpers/browser.ts';
import { toFurtherEvidence } from '../helpers/decisions.ts';
import type { ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { multipart } from '../helpers/multipart.ts';
import type { Actor, World } from '../helpers/world.ts';

/**
 * An appraiser's review (SPEC §9) in a real Chromium: signed in by e-mail link, they open their list,
 * then a round-2 review page where each criterion's answer sits beside its evidence (a photo shown in
 * the page, a PDF in the browser's viewer, a video that plays and seeks through range requests), the
 * files added since round 1 marked; they judge by keyboard, save a draft, come back to it, and send the
 * review. Every page is scanned by axe and photographed (test/web/screenshots/).
 */

const run = browserAvailable() ? describe : describe.skip;
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

/** A small valid PNG: `width`×`height` pixels in two colour bands. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.concat(
    Array.from({ length: height }, (_row, y) =>
      Buffer.concat([
        Buffer.from([0]),
        Buffer.from(
          Array.from({ length: width }, () => (y < height / 2 ? [29, 112, 184] : [0, 112, 60])).flat(),
        ),
      ]),
    ),
  );
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A one-page PDF with a line of text, with its cross-reference table. */
function onePagePdf(text: string): Buffer {
  const stream = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer << /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/**
 * A short MP4 (H.264), recorded by the browser itself from a canvas: the test machine has no video
 * encoder of its own, and Chromium's MediaRecorder writes MP4.
 */
async function recordedMp4(page: Page): Promise<Buffer> {
  // A string, not a function: the tests are compiled without the DOM's types.
  const base64 = (await page.evaluate(`(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 90;
    document.body.append(canvas);
    const g = canvas.getContext('2d');
    let frame = 0;
    const timer = setInterval(() => {
      g.fillStyle = 'hsl(' + ((frame++ * 20) % 360) + ' 70% 40%)';
      g.fillRect(0, 0, 160, 90);
    }, 40);
    const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: 'video/mp4;codecs=avc1' });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    recorder.stop();
    await stopped;
    clearInterval(timer);
    canvas.remove();
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let binary = '';
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  })()`)) as string;
  return Buffer.from(base64, 'base64');
}

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

/**
 * Runs an action that opens a review page and waits for its document: the browser's PDF viewer in a
 * frame may take a while to finish, and nothing here waits for it.
 */
async function open(page: Page, action: () => Promise<unknown>) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), action()]);
}

const _mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));

/** Uploads files as the school through the API. */
async function upload(
  actor: Actor,
  id: string,
  criteria: string,
  files: { filename: string; content: Buffer }[],
) {
  const { body, contentType } = multipart({ criteria }, files);
  const res = await h.t.app.inject({
    method: 'POST',
    url: `/applications/${id}/evidence`,
    headers: { authorization: `Bearer ${actor.token}`, 'content-type': contentType },
    payload: body,
  });
  expect(res.statusCode).toBe(201);
}

run('an appraiser reviews beside the evidence in a browser', () => {
  let context: BrowserContext;
  let page: Page;
  let id: string;
  let panel: Actor[];

  beforeAll(async () => {
    if (!browserAvailable()) return;
    // Round 1 reviewed and decided (further evidence for E2); the school adds a photo, a PDF and a video.
    ({ id, panel } = await toFurtherEvidence(h.t.app, w, 'browser'));
    context = await h.newContext();
    page = await context.newPage();
    await page.goto('/sign-in');
    const video = await recordedMp4(page);
    await upload(w.applicantA, id, 'L1', [
      { filename: 'assembly.png', content: png(320, 200) },
      { filename: 'assembly-plan.pdf', content: onePagePdf('Assembly plan: welcome week') },
    ]);
    await upload(w.applicantA, id, 'E2', [{ filename: 'pupil-council.mp4', content: video }]);
    ok(await event(w.applicantA, id, { type: 'RESUBMIT' }));
  }, 90_000);

  it('the list shows the application, its round and the review due', async () => {
    const email = ok(await panel[0].api.get('/me')).email as string;
    await signInByEmail(page, smtp, email);
    await navigate(page, () => page.getByRole('link', { name: 'Reviews' }).first().click());
    expect(page.url()).toBe(`${h.baseUrl}/review`);
    const row = page.locator('tbody tr', { hasText: 'Hillfields Primary School' });
    expect(await row.locator('td').nth(2).textContent()).toBe('2');
    expect(await row.textContent()).toContain('Review due');
    await h.check(page, 'review-list');
  }, 60_000);

  it('the review page shows the photo, the PDF and a video that seeks, the new files marked', async () => {
    await open(page, () => page.getByRole('link', { name: 'Hillfields Primary School' }).click());
    expect(await textOf(page, 'h1')).toBe('Review: Hillfields Primary School');

    const photo = page.locator('#criterion-L1 img');
    await photo.scrollIntoViewIfNeeded();
    const photoWidth = await page.evaluate(
      `(() => { const img = document.querySelector('#criterion-L1 img'); return img.decode().then(() => img.naturalWidth); })()`,
    );
    expect(photoWidth).toBe(320);
    const pdfFrame = page.locator('#criterion-L1 iframe[title*="assembly-plan.pdf"]');
    await pdfFrame.scrollIntoViewIfNeeded();
    // The browser's own PDF viewer opens in the frame (the file is sandboxed, and framed by this site only).
    await eventually(
      () => page.frames().some((frame) => frame.url().startsWith('chrome-extension://')),
      'the PDF viewer',
    );
    expect(await page.locator('#criterion-L1').textContent()).toContain('New since round 1');

    const video = page.locator('#criterion-E2 video');
    await video.scrollIntoViewIfNeeded();
    // Seeking: the element asks the evidence route for byte ranges.
    const seeked = (await page.evaluate(`new Promise((resolve, reject) => {
      const v = document.querySelector('#criterion-E2 video');
      const seek = () => {
        v.addEventListener('seeked', () => resolve({ duration: v.duration, at: v.currentTime }), { once: true });
        v.currentTime = 0.8;
      };
      v.addEventListener('error', () => reject(new Error('video error ' + v.error?.code)), { once: true });
      if (v.readyState >= 1) seek();
      else v.addEventListener('loadedmetadata', seek, { once: true });
    })`)) as { duration: number; at: number };
    expect(seeked.duration).toBeGreaterThan(1);
    expect(seeked.at).toBeGreaterThan(0.5);
    // The media element fetched the file by ranges (each recorded in the history, as the API's download is).
    const lines = ok(await w.leadA.api.get(`/applications/${id}/history`)).items as {
      type: string;
      actorId: string;
      payload: { filename?: string; range?: string };
    }[];
    expect(
      lines.some(
        (l) =>
          l.type === 'EVIDENCE_DOWNLOADED' &&
          l.actorId === panel[0].id &&
          l.payload.filename === 'pupil-council.mp4' &&
          l.payload.range,
      ),
    ).toBe(true);
    expect(await page.locator('#criterion-E2').textContent()).toContain('New since round 1');
    // Files from round 1 are not marked.
    expect(await page.locator('#criterion-S1').textContent()).not.toContain('New since round 1');
    await h.check(page, 'review-page');
    // One criterion at full size, to look at: the answer and the form beside the photo, the PDF and the video.
    await page.locator('#criterion-L1').screenshot({ path: `${SCREENSHOTS}review-criterion.png` });
  }, 60_000);

  it('judges by keyboard, saves a draft, finds it again after a reload, then sends the review', async () => {
    // Keyboard: focus the first radio of L1, Space chooses it, the arrow keys move the choice.
    await page.locator('#L1-judgement').focus();
    await page.keyboard.press('Space');
    expect(await page.locator('#L1-judgement').isChecked()).toBe(true);
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#L1-judgement-2').isChecked()).toBe(true);
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#L1-judgement').isChecked()).toBe(true);
    await page.keyboard.press('Tab');
    await page.keyboard.type('A welcome week with a photo and a plan');
    expect(await page.locator('#L1-comment').inputValue()).toBe('A welcome week with a photo and a plan');
    await page.locator('#E2-judgement-2').check();
    await page.locator('#summary').fill('Pupil voice is clearer now');

    await open(page, () => page.getByRole('button', { name: 'Save and come back later' }).click());
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Your draft has been saved.');
    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await page.locator('#L1-judgement').isChecked()).toBe(true);
    expect(await page.locator('#E2-judgement-2').isChecked()).toBe(true);
    expect(await page.locator('#L1-comment').inputValue()).toBe('A welcome week with a photo and a plan');
    expect(await page.locator('#summary').inputValue()).toBe('Pupil voice is clearer now');

    for (const code of SCHOOL_CODES.filter((c) => c !== 'L1' && c !== 'E2'))
      await page.locator(`#${code}-judgement`).check();
    await open(page, () => page.getByRole('button', { name: 'Send review' }).click());
    expect(await textOf(page, '.govuk-notification-banner')).toContain('Your review has been sent.');
    await h.check(page, 'review-sent');

    const reviews = ok(await w.leadA.api.get(`/applications/${id}/reviews`)).items as {
      round: number;
      appraiserId: string;
      criteria: Record<string, { judgement: string; comment: string }>;
      summary: string;
    }[];
    const mine = reviews.find((r) => r.round === 2 && r.appraiserId === panel[0].id);
    expect(mine?.criteria.L1).toEqual({
      judgement: 'met',
      comment: 'A welcome week with a photo and a plan',
    });
    expect(mine?.criteria.E2.judgement).toBe('not_yet');
    expect(mine?.summary).toBe('Pupil voice is clearer now');
  }, 60_000);

  it('with JavaScript off, a missing judgement is an error summary whose link leads to the radios', async () => {
    const email = ok(await panel[1].api.get('/me')).email as string;
    const withJs = await h.newContext();
    const signing = await withJs.newPage();
    await signInByEmail(signing, smtp, email);
    const cookies = await withJs.cookies();
    const noJs = await h.newContext({ javaScriptEnabled: false });
    await noJs.addCookies(cookies);
    const bare = await noJs.newPage();
    await bare.goto(`/review/${id}`, { waitUntil: 'domcontentloaded' });
    await bare.locator('#L1-judgement').check();
    await open(bare, () => bare.getByRole('button', { name: 'Send review' }).click());
    expect(await textOf(bare, '.govuk-error-summary')).toContain('Choose met or not yet for L2:');
    expect(await bare.locator('#L1-judgement').isChecked()).toBe(true);
    await bare.getByRole('link', { name: /Choose met or not yet for E2:/ }).click();
    expect(new URL(bare.url()).hash).toBe('#E2-judgement');
  }, 60_000);
});
