import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  draftOfNewSchool,
  event,
  ok,
  readyDraft,
  SCHOOL_CODES,
  toReviewing,
  uploadEvidence,
} from '../helpers/applications.ts';
import { multipart } from '../helpers/multipart.ts';
import { emailOf, errorSummary, h1, type PageClient, pageClient, usePagesWorld } from '../helpers/pages.ts';
import { pngWithLocation } from '../helpers/photos.ts';
import type { Actor } from '../helpers/world.ts';

/**
 * The appraisers' pages over HTTP (SPEC §9): the list of what is assigned, the review page and its
 * evidence route (scope: only the panel; ranges; the download in the history), the draft kept and
 * restored, validation, a stale page, submission and a declared conflict through the workflow.
 */

const { t, w, signedIn: signedInAs } = usePagesWorld();

/** A page client signed in through the sign-in pages as this actor. */
const signedIn = async (actor: Actor) => signedInAs(await emailOf(actor));

const version = (html: string) => /name="version" value="(\d+)"/.exec(html)?.[1] as string;
const evidenceHref = (html: string) => /src="(\/review\/[^"]+\/evidence\/[^"]+)"/.exec(html)?.[1] as string;

/** Every criterion judged, with a comment each. */
const fullReview = (judgement: 'met' | 'not_yet') =>
  Object.fromEntries(
    SCHOOL_CODES.flatMap((code) => [
      [`${code}-judgement`, judgement],
      [`${code}-comment`, `${code} is ${judgement}`],
    ]),
  );

let id: string;
let panel: Actor[];
let reviewer: PageClient;
beforeAll(async () => {
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  panel = await toReviewing(t.app, w, id, 'pages');
  reviewer = await signedIn(panel[0]);
});

describe('the appraiser’s list', () => {
  it('lists the application with its stream, round, state and the review due', async () => {
    const list = await reviewer.get('/review');
    expect(list.status).toBe(200);
    expect(h1(list.html)).toBe('Your reviews');
    expect(list.html).toContain(`href="/review/${id}"`);
    expect(list.html).toContain('Hillfields Primary School');
    expect(list.html).toContain('Schools of Sanctuary');
    expect(list.html).toContain('The panel is reviewing it');
    expect(list.html).toContain('Review due');
    expect(list.html).toMatch(/Assigned (now|\d+ minutes? ago)/);
    expect(list.html).toMatch(/reviews opened (now|\d+ minutes? ago)/);
  });

  it('an appraiser on no panel sees the empty state; the list is in Welsh too', async () => {
    const other = await signedIn(w.appraiserA);
    const list = await other.get('/review');
    expect(list.status).toBe(200);
    expect(list.html).toContain('No application is assigned to you at the moment.');
    expect(list.html).not.toContain(`/review/${id}`);
    const welsh = await reviewer.get('/review?lang=cy');
    expect(welsh.status).toBe(303);
    const cy = await reviewer.get('/review');
    expect(h1(cy.html)).toBe('Eich adolygiadau');
    expect(cy.html).toContain('Adolygiad yn ddyledus');
    await reviewer.get('/review?lang=en');
  });

  it('signed out, the list sends the browser to sign in', async () => {
    const res = await pageClient(t.app).get('/review');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/sign-in');
  });
});

describe('scope: the review pages are the panel’s alone', () => {
  it('an appraiser not on the panel, the lead and the school get the page-not-found page', async () => {
    const page = await reviewer.get(`/review/${id}`);
    const href = evidenceHref(page.html);
    expect(href).toBeTruthy();
    for (const actor of [w.appraiserA, w.leadA, w.applicantA]) {
      const other = await signedIn(actor);
      const review = await other.get(`/review/${id}`);
      expect(review.status).toBe(404);
      expect(h1(review.html)).toBe('Page not found');
      expect((await other.get(href)).status).toBe(404);
      expect((await other.post(`/review/${id}`, { action: 'save', summary: 'x' })).status).toBe(404);
      expect((await other.post(`/review/${id}/conflict`, { reason: 'x' })).status).toBe(404);
    }
  });

  it('an id that is not one, or names nothing, is not found', async () => {
    expect((await reviewer.get('/review/not-a-uuid')).status).toBe(404);
    expect((await reviewer.get('/review/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await reviewer.get(`/review/${id}/evidence/00000000-0000-4000-8000-000000000000`)).status).toBe(
      404,
    );
  });
});

describe('the review page', () => {
  it('shows each criterion, grouped Learn / Embed / Share, with the answer and the evidence beside it', async () => {
    const page = await reviewer.get(`/review/${id}`);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Review: Hillfields Primary School');
    for (const heading of ['Learn', 'Embed', 'Share'])
      expect(page.html).toContain(`<h2 class="govuk-heading-l app-review-process">${heading}</h2>`);
    for (const code of SCHOOL_CODES) {
      expect(page.html).toContain(`Our work on ${code}`);
      expect(page.html).toContain(`name="${code}-judgement"`);
      expect(page.html).toContain(`id="${code}-comment"`);
    }
    // The PDF evidence is shown in the page, framed from this site.
    expect(page.html).toMatch(
      /<iframe class="app-review-evidence__pdf" loading="lazy" src="\/review\/[^"]+\/evidence\//,
    );
    expect(page.html).toContain('Send review');
    expect(page.html).toContain('Save and come back later');
    expect(page.html).toContain('I have a conflict of interest');
    // The page itself may not be framed by anyone.
    expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });

  it('the review page in Welsh', async () => {
    expect((await reviewer.get(`/review/${id}?lang=cy`)).status).toBe(303);
    const cy = await reviewer.get(`/review/${id}`);
    expect(h1(cy.html)).toBe('Adolygiad: Hillfields Primary School');
    expect(cy.html).toContain('Ydy L1 wedi’i fodloni?');
    expect(cy.html).toContain('Cadw a dod yn ôl yn nes ymlaen');
    expect(cy.html).toContain('Mae gen i wrthdaro buddiannau');
    await reviewer.get(`/review/${id}?lang=en`);
  });

  it('the evidence route answers inline, framable by this site only, with ranges, recorded in the history', async () => {
    const href = evidenceHref((await reviewer.get(`/review/${id}`)).html);
    const whole = await reviewer.get(href);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('application/pdf');
    expect(String(whole.headers['content-disposition'])).toMatch(/^inline; filename="evidence-/);
    expect(whole.headers['x-content-type-options']).toBe('nosniff');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    const csp = String(whole.headers['content-security-policy']);
    expect(csp).toBe("default-src 'none'; sandbox; frame-ancestors 'self'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(whole.html.startsWith('%PDF')).toBe(true);

    const part = await reviewer.get(href, { range: 'bytes=0-3' });
    expect(part.status).toBe(206);
    expect(part.html).toBe('%PDF');
    expect(part.headers['content-range']).toMatch(/^bytes 0-3\/\d+$/);
    const beyond = await reviewer.get(href, { range: 'bytes=999999-' });
    expect(beyond.status).toBe(416);

    const lines = ok(await w.leadA.api.get(`/applications/${id}/history`)).items as {
      type: string;
      actorId: string;
      payload: Record<string, unknown>;
    }[];
    const downloads = lines.filter((l) => l.type === 'EVIDENCE_DOWNLOADED' && l.actorId === panel[0].id);
    expect(downloads.length).toBeGreaterThanOrEqual(2);
    expect(downloads.some((l) => l.payload.range === 'bytes=0-3')).toBe(true);
  });

  it('saves a draft with what was chosen and typed, and shows it when the appraiser comes back', async () => {
    await reviewer.get(`/review/${id}`);
    const saved = await reviewer.post(`/review/${id}`, {
      action: 'save',
      'L1-judgement': 'met',
      'L1-comment': 'Assemblies every term',
      'E1-judgement': 'not_yet',
      summary: 'A promising start',
    });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`/review/${id}?saved=1`);
    const back = await reviewer.get(`/review/${id}?saved=1`);
    expect(back.html).toContain('Your draft has been saved.');
    expect(back.html).toMatch(/name="L1-judgement" type="radio" value="met" checked/);
    expect(back.html).toMatch(/name="E1-judgement" type="radio" value="not_yet" checked/);
    expect(back.html).toContain('Assemblies every term');
    expect(back.html).toContain('A promising start');
    // A draft is personal: no workflow change, no new version.
    expect(version(back.html)).toBe(String(ok(await w.leadA.api.get(`/applications/${id}`)).version));
  });

  it('a draft refuses a comment over the limit with an error summary, keeping what was typed', async () => {
    await reviewer.get(`/review/${id}`);
    const long = await reviewer.post(`/review/${id}`, { action: 'save', 'L2-comment': 'x'.repeat(10_001) });
    expect(long.status).toBe(400);
    expect(errorSummary(long.html)).toContain('The comment on L2 must be 10000 characters or fewer');
    expect(long.html).toContain('href="#L2-comment"');
  });

  it('submitting with judgements missing lists each one, linked to its radios, and keeps what was typed', async () => {
    const page = await reviewer.get(`/review/${id}`);
    const res = await reviewer.post(`/review/${id}`, {
      action: 'submit',
      version: version(page.html),
      'L1-judgement': 'met',
      'L1-comment': 'Typed, not saved',
    });
    expect(res.status).toBe(400);
    const listed = errorSummary(res.html);
    for (const code of SCHOOL_CODES.filter((c) => c !== 'L1')) {
      expect(listed).toContain(`Choose met or not yet for ${code}:`);
      expect(res.html).toContain(`href="#${code}-judgement"`);
      expect(res.html).toContain(`id="${code}-judgement"`);
    }
    expect(listed).not.toContain('for L1:');
    expect(res.html).toContain('Typed, not saved');
  });

  it('a stale page sends nothing: the latest page comes back with what was typed', async () => {
    const page = await reviewer.get(`/review/${id}`);
    const shown = version(page.html);
    // Meanwhile another panel member reviews: the application's version moves on.
    ok(
      await event(panel[2], id, {
        type: 'SUBMIT_REVIEW',
        criteria: Object.fromEntries(SCHOOL_CODES.map((c) => [c, { judgement: 'met', comment: '' }])),
        summary: 'Fine',
      }),
    );
    const res = await reviewer.post(`/review/${id}`, {
      action: 'submit',
      version: shown,
      ...fullReview('met'),
    });
    expect(res.status).toBe(409);
    expect(res.html).toContain('The application changed while you were reviewing it');
    expect(res.html).toContain('S3 is met');
    expect(Number(version(res.html))).toBe(Number(shown) + 1);
    const reviews = ok(await w.leadA.api.get(`/applications/${id}/reviews`)).items as {
      appraiserId: string;
    }[];
    expect(reviews.some((r) => r.appraiserId === panel[0].id)).toBe(false);
  });

  it('submits the whole review through the workflow, drops the draft and shows the review sent', async () => {
    const page = await reviewer.get(`/review/${id}`);
    const res = await reviewer.post(`/review/${id}`, {
      action: 'submit',
      version: version(page.html),
      ...fullReview('not_yet'),
      'L1-judgement': 'met',
      summary: 'Warm and thoughtful',
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/review/${id}?submitted=1`);
    const reviews = ok(await w.leadA.api.get(`/applications/${id}/reviews`)).items as {
      appraiserId: string;
      criteria: Record<string, { judgement: string; comment: string }>;
      summary: string;
    }[];
    const mine = reviews.find((r) => r.appraiserId === panel[0].id);
    expect(mine?.criteria.L1).toEqual({ judgement: 'met', comment: 'L1 is not_yet' });
    expect(mine?.criteria.S3.judgement).toBe('not_yet');
    expect(mine?.summary).toBe('Warm and thoughtful');
    const lines = ok(await w.leadA.api.get(`/applications/${id}/history`)).items as {
      type: string;
      actorId: string;
    }[];
    expect(lines.some((l) => l.type === 'SUBMIT_REVIEW' && l.actorId === panel[0].id)).toBe(true);

    const after = await reviewer.get(`/review/${id}?submitted=1`);
    expect(after.html).toContain('Your review has been sent.');
    expect(after.html).toContain('You sent your review of this round on');
    expect(after.html).toContain('Warm and thoughtful');
    expect(after.html).not.toContain('name="L1-judgement"');
    expect(after.html).not.toContain('Save and come back later');
    const draft = await t.database.db
      .selectFrom('review_drafts')
      .selectAll()
      .where('application_id', '=', id)
      .where('appraiser_id', '=', panel[0].id)
      .executeTakeFirst();
    expect(draft).toBeUndefined();
    expect((await reviewer.get('/review')).html).toContain('you have sent your review for round 1');
    // Nothing more to draft this round.
    await reviewer.get(`/review/${id}`);
    expect((await reviewer.post(`/review/${id}`, { action: 'save', summary: 'more' })).status).toBe(409);
  });

  it('a conflict needs a reason; declared, the appraiser leaves the panel and the application leaves their list', async () => {
    const member = await signedIn(panel[1]);
    await member.get(`/review/${id}`);
    expect((await member.post(`/review/${id}`, { action: 'save', summary: 'Half done' })).status).toBe(303);
    const page = await member.get(`/review/${id}`);
    const empty = await member.post(`/review/${id}/conflict`, { version: version(page.html), reason: ' ' });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toContain('Enter the reason for the conflict of interest');
    expect(empty.html).toContain('href="#reason"');
    expect(empty.html).toContain('Half done');

    const declared = await member.post(`/review/${id}/conflict`, {
      version: version(page.html),
      reason: 'I volunteer at this school',
    });
    expect(declared.status).toBe(303);
    expect(declared.location).toBe('/review?done=conflict');
    const list = await member.get('/review?done=conflict');
    expect(list.html).toContain('You declared a conflict of interest.');
    expect(list.html).not.toContain(`/review/${id}`);
    expect((await member.get(`/review/${id}`)).status).toBe(404);
    const view = ok(await w.leadA.api.get(`/applications/${id}`));
    expect(view.panel.map((m: { userId: string }) => m.userId)).not.toContain(panel[1].id);
    const drafts = await t.database.db
      .selectFrom('review_drafts')
      .selectAll()
      .where('appraiser_id', '=', panel[1].id)
      .execute();
    expect(drafts).toEqual([]);
  });

  it('while the panel is re-formed a new member reads the evidence and keeps a draft, but cannot send yet', async () => {
    ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: w.appraiserA.id }));
    const newcomer = await signedIn(w.appraiserA);
    const page = await newcomer.get(`/review/${id}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('The panel is being formed');
    expect(page.html).toContain('Reviews open when the local lead has completed the panel.');
    expect(page.html).toContain('Save and come back later');
    expect(page.html).not.toContain('Send review');
    expect(evidenceHref(page.html)).toBeTruthy();
    const saved = await newcomer.post(`/review/${id}`, { action: 'save', ...fullReview('met') });
    expect(saved.location).toBe(`/review/${id}?saved=1`);
    // Sending anyway (an old page, say) is refused by the workflow: the page says so and keeps the typing.
    const early = await newcomer.post(`/review/${id}`, {
      action: 'submit',
      version: version(page.html),
      ...fullReview('met'),
    });
    expect(early.status).toBe(409);
    expect(errorSummary(early.html)).toContain('This cannot be done at this stage of the application.');
    expect(early.html).toContain('S2 is met');

    ok(await event(w.leadA, id, { type: 'START_REVIEW' }));
    const open = await newcomer.get(`/review/${id}`);
    expect(open.html).toContain('Send review');
    expect(open.html).toContain('S2 is met');
    const sent = await newcomer.post(`/review/${id}`, {
      action: 'submit',
      version: version(open.html),
      ...fullReview('met'),
    });
    expect(sent.location).toBe(`/review/${id}?submitted=1`);
  });

  it('after the decision the panel keeps its review but no longer the evidence files', async () => {
    expect(ok(await w.leadA.api.get(`/applications/${id}`)).state).toBe('appraisal.consensus');
    ok(await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }));
    const before = await reviewer.get(`/review/${id}`);
    expect(before.status).toBe(200);
    expect(before.html).toContain('Awarded');
    expect(before.html).toContain('Since the decision, the panel no longer sees the evidence files.');
    expect(before.html).toContain('Warm and thoughtful');
    expect(before.html).not.toContain('/evidence/');
    const files = ok(await w.leadA.api.get(`/applications/${id}/evidence`)).items as { id: string }[];
    const file = await reviewer.get(`/review/${id}/evidence/${files[0].id}`);
    expect(file.status).toBe(403);
    expect((await reviewer.get('/review')).html).toContain('Awarded');
  });

  it('forms without a CSRF token are refused', async () => {
    const res = await reviewer.post(`/review/${id}`, { action: 'save' }, { csrf: false });
    expect(res.status).toBe(403);
  });
});

describe('photos on the review page', () => {
  it('are shown by their small preview, linked to the file at full size', async () => {
    // A school of its own (school A's application is decided by now), made ready to submit.
    const app = await draftOfNewSchool(t.database.db, w, 'Photo School');
    const organisationId = ok(await w.applicantA.api.get(`/applications/${app}`)).organisationId;
    ok(
      await w.applicantA.api.post(`/organisations/${organisationId}/pledge`, {
        signatoryName: 'Ms Head',
        signatoryRole: 'Headteacher',
      }),
      201,
    );
    for (const code of SCHOOL_CODES)
      ok(await w.applicantA.api.put(`/applications/${app}/answers/${code}`, { text: `Our work on ${code}` }));
    ok(await uploadEvidence(t.app, w.applicantA, app, SCHOOL_CODES, `evidence-${app}`), 201);
    const { body, contentType } = multipart({ criteria: 'L1' }, [
      { filename: 'assembly.png', content: await pngWithLocation(), contentType: 'image/png' },
    ]);
    const uploaded = await t.app.inject({
      method: 'POST',
      url: `/applications/${app}/evidence`,
      headers: { authorization: `Bearer ${w.applicantA.token}`, 'content-type': contentType },
      payload: body,
    });
    expect(uploaded.statusCode).toBe(201);
    const [photo] = uploaded.json().items;
    expect(photo.hasPreview).toBe(true);
    ok(await event(w.applicantA, app, { type: 'SUBMIT' }));
    const [member] = await toReviewing(t.app, w, app, 'previews');
    const browser = await signedIn(member);

    const page = await browser.get(`/review/${app}`);
    const preview = `/apply/${app}/evidence/${photo.id}/preview`;
    expect(page.html).toContain(`<a class="govuk-link" href="/review/${app}/evidence/${photo.id}">`);
    expect(page.html).toContain(`src="${preview}"`);
    const image = await browser.get(preview);
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/webp');
  });
});
