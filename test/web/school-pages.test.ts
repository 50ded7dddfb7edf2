import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, review, SCHOOL_CODES, toReviewing } from '../helpers/applications.ts';
import { multipart, pdf } from '../helpers/multipart.ts';
import { emailOf, errorSummary, h1, type PageClient, usePagesWorld } from '../helpers/pages.ts';
import { buildZip } from '../helpers/zip.ts';

/**
 * The school's pages over HTTP (SPEC §9): what they answer, the forms' CSRF checks, refusals as error
 * summaries, scope (another school's application is the page-not-found page) and stale pages.
 */

const { t, w, signedIn } = usePagesWorld({ MAX_FILE_BYTES: '4096' });

/** Posts files to an upload form's action (its CSRF token in the query string) with the client's cookies. */
async function upload(
  browser: PageClient,
  action: string,
  criteria: string,
  files: { filename: string; content: Buffer | string }[],
) {
  const { body, contentType } = multipart(criteria ? { criteria } : {}, files);
  const res = await t.app.inject({
    method: 'POST',
    url: action,
    headers: {
      accept: 'text/html',
      'content-type': contentType,
      cookie: [...browser.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; '),
    },
    payload: body,
  });
  return { status: res.statusCode, html: res.body, location: res.headers.location as string | undefined };
}

const uploadAction = (html: string) =>
  (/action="([^"]*\/evidence\?_csrf=[^"]+)"/.exec(html)?.[1] ?? '').replace(/&amp;/g, '&');

let a: PageClient;
let b: PageClient;
beforeAll(async () => {
  a = await signedIn(await emailOf(w.applicantA));
  b = await signedIn(await emailOf(w.applicantB));
});

describe('the school’s journey over HTTP', () => {
  let id: string;

  it('home: the organisation, the pledge to sign, and a button to start an application', async () => {
    const home = await a.get('/');
    expect(home.status).toBe(200);
    expect(home.html).toContain('Hillfields Primary School');
    expect(home.html).toContain(`href="/apply/organisations/${w.orgA}/pledge"`);
    expect(home.html).toContain('No application yet');
    expect(home.html).toContain('Start an application');
  });

  it('the pledge form refuses empty fields with an error summary, then signs', async () => {
    const form = await a.get(`/apply/organisations/${w.orgA}/pledge`);
    expect(h1(form.html)).toBe('Sign the City of Sanctuary pledge');
    const empty = await a.post(`/apply/organisations/${w.orgA}/pledge`, {
      signatoryName: '',
      signatoryRole: '',
    });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toContain('Enter the full name of the person signing');
    expect(empty.html).toContain('href="#signatoryName"');
    const signed = await a.post(`/apply/organisations/${w.orgA}/pledge`, {
      signatoryName: 'Joy Okafor',
      signatoryRole: 'Headteacher',
    });
    expect(signed.status).toBe(303);
    expect(signed.location).toBe('/?done=pledge');
    expect((await a.get('/')).html).toContain('by Joy Okafor');
  });

  it('starts an application and shows the task list grouped Learn / Embed / Share', async () => {
    await a.get('/');
    const started = await a.post(`/apply/organisations/${w.orgA}/start`, { kind: 'initial' });
    expect(started.status).toBe(303);
    id = (started.location as string).split('/').pop() as string;
    const tasks = await a.get(`/apply/${id}`);
    expect(tasks.status).toBe(200);
    expect(h1(tasks.html)).toBe('Your application');
    for (const heading of ['1. Learn', '2. Embed', '3. Share', '4. Submit'])
      expect(tasks.html).toContain(heading);
    expect(tasks.html).toContain('govuk-task-list');
    expect(tasks.html.match(/Not started/g)?.length).toBeGreaterThanOrEqual(SCHOOL_CODES.length);
    expect(tasks.html).toContain('Cannot start yet');
    // Starting again goes to the open application.
    await a.get('/');
    expect((await a.post(`/apply/organisations/${w.orgA}/start`, { kind: 'initial' })).location).toBe(
      `/apply/${id}`,
    );
  });

  it('a criterion: the answer is saved, files upload (a folder filed by its subfolders), the status follows', async () => {
    const page = await a.get(`/apply/${id}/criteria/L1`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('webkitdirectory');
    const saved = await a.post(`/apply/${id}/criteria/L1`, { answer: 'Every class learns about sanctuary.' });
    expect(saved.location).toBe(`/apply/${id}/criteria/L1?saved=1`);
    expect((await a.get(`/apply/${id}`)).html).toContain('In progress');

    const action = uploadAction((await a.get(`/apply/${id}/criteria/L1`)).html);
    expect(action).toMatch(new RegExp(`^/apply/${id}/criteria/L1/evidence\\?_csrf=`));
    const res = await upload(a, action, 'L1', [
      { filename: 'assembly.pdf', content: pdf('assembly') },
      { filename: 'Evidence/E2/council.pdf', content: pdf('council') },
      { filename: 'Evidence/Photos/trip.pdf', content: pdf('trip') },
      { filename: 'Evidence/.DS_Store', content: 'x' },
    ]);
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/apply/${id}/criteria/L1?uploaded=3&skipped=1`);
    const after = await a.get(res.location as string);
    expect(after.html).toContain('3 files have been added.');
    expect(after.html).toContain('assembly.pdf');
    expect(after.html).toContain('trip.pdf');
    expect(after.html).not.toContain('council.pdf');
    expect((await a.get(`/apply/${id}/criteria/E2`)).html).toContain('council.pdf');
    const evidence = ok(await w.applicantA.api.get(`/applications/${id}/evidence`)).items;
    expect(evidence.find((e: { filename: string }) => e.filename === 'council.pdf').criteria).toEqual(['E2']);
    const tasks = await a.get(`/apply/${id}`);
    expect(tasks.html).toMatch(/L1: [\s\S]*?Completed/);

    // Download and delete (a first draft).
    const item = evidence.find((e: { filename: string }) => e.filename === 'trip.pdf');
    const download = await a.get(`/apply/${id}/evidence/${item.id}`);
    expect(download.status).toBe(200);
    expect(download.headers['content-disposition']).toContain('trip.pdf');
    await a.get(`/apply/${id}/criteria/L1`);
    const deleted = await a.post(`/apply/${id}/evidence/${item.id}/delete`, {
      criterion: 'L1',
      filename: 'trip.pdf',
    });
    expect(deleted.location).toBe(`/apply/${id}/criteria/L1?deleted=trip.pdf`);
    expect((await a.get(deleted.location as string)).html).toContain('“trip.pdf” has been deleted.');
  });

  it('refused uploads are error summaries in plain words: a refused type, an oversize file, nothing chosen', async () => {
    const action = uploadAction((await a.get(`/apply/${id}/criteria/L2`)).html);
    const html = await upload(a, action, 'L2', [{ filename: 'page.html', content: '<p>hi</p>' }]);
    expect(html.status).toBe(415);
    expect(errorSummary(html.html)).toContain('“page.html” is not a type of file we can accept');
    expect(html.html).toContain('href="#files"');

    const big = await upload(a, uploadAction((await a.get(`/apply/${id}/criteria/L2`)).html), 'L2', [
      { filename: 'big.pdf', content: Buffer.concat([pdf('big'), Buffer.alloc(8192, 32)]) },
    ]);
    expect(big.status).toBe(413);
    expect(errorSummary(big.html)).toContain('“big.pdf” is larger than 4 KB');

    const none = await upload(a, uploadAction((await a.get(`/apply/${id}/criteria/L2`)).html), 'L2', [
      { filename: '', content: '' },
    ]);
    expect(none.status).toBe(400);
    expect(errorSummary(none.html)).toContain('Choose at least one file or folder to upload');
    expect(ok(await w.applicantA.api.get(`/applications/${id}/evidence?criterion=L2`)).items).toEqual([]);
  });

  it('a refusal is in the person’s language', async () => {
    await a.get(`/apply/${id}/criteria/L2?lang=cy`);
    const page = await a.get(`/apply/${id}/criteria/L2`);
    expect(page.html).toContain('lang="cy"');
    const refused = await upload(a, uploadAction(page.html), 'L2', [
      { filename: 'run.js', content: 'alert(1)' },
    ]);
    expect(refused.status).toBe(415);
    expect(errorSummary(refused.html)).toContain('Nid yw “run.js” yn fath o ffeil y gallwn ei derbyn');
    // The criteria and the stream, which the data holds in both languages, are in Welsh too.
    expect(page.html).toContain('Mae disgyblion yn dysgu am noddfa');
    expect((await a.get(`/apply/${id}`)).html).toContain('Mae staff a llywodraethwyr yn deall');
    expect((await a.get('/')).html).toContain('Ysgolion Noddfa');
    await a.get(`/apply/${id}/criteria/L2?lang=en`);
    expect((await a.get(`/apply/${id}/criteria/L2`)).html).toContain('lang="en"');
  });

  it('a zip files its folders; a zip that is not safe to open is refused naming the entry', async () => {
    const zip = buildZip([
      { name: 'Evidence/S2/refugee-week.pdf', content: pdf('refugee week') },
      { name: 'Evidence/Share/leaflet.pdf', content: pdf('leaflet') },
    ]);
    const res = await upload(a, uploadAction((await a.get(`/apply/${id}/criteria/S1`)).html), 'S1', [
      { filename: 'evidence.zip', content: zip },
    ]);
    expect(res.location).toBe(`/apply/${id}/criteria/S1?uploaded=2`);
    const evidence = ok(await w.applicantA.api.get(`/applications/${id}/evidence`)).items;
    const filed = (name: string) => evidence.find((e: { filename: string }) => e.filename === name).criteria;
    expect(filed('refugee-week.pdf')).toEqual(['S2']);
    expect(filed('leaflet.pdf')).toEqual(['S1', 'S2', 'S3']);

    const climbing = buildZip([{ name: '../outside.pdf', content: pdf('outside') }]);
    const refused = await upload(a, uploadAction((await a.get(`/apply/${id}/criteria/S1`)).html), 'S1', [
      { filename: 'bad.zip', content: climbing },
    ]);
    expect(refused.status).toBe(400);
    expect(errorSummary(refused.html)).toContain('The zip file cannot be used because of “../outside.pdf”');
  });

  it('every new form refuses a request without its CSRF token', async () => {
    const forms: [string, Record<string, string>][] = [
      [`/apply/organisations/${w.orgA}/pledge`, { signatoryName: 'X', signatoryRole: 'Y' }],
      [`/apply/organisations/${w.orgA}/start`, { kind: 'initial' }],
      [`/apply/${id}/criteria/L1`, { answer: 'changed' }],
      [`/apply/${id}/evidence/00000000-0000-4000-8000-000000000000/delete`, { criterion: 'L1' }],
      [`/apply/${id}/submit`, { version: '1' }],
      [`/apply/${id}/respond`, { version: '1' }],
      [`/apply/${id}/resubmit`, { version: '1' }],
    ];
    for (const [url, form] of forms) {
      const res = await a.post(url, form, { csrf: false });
      expect([url, res.status]).toEqual([url, 403]);
    }
    const noToken = await upload(a, `/apply/${id}/criteria/L1/evidence`, 'L1', [
      { filename: 'a.pdf', content: pdf('a') },
    ]);
    expect(noToken.status).toBe(403);
    expect(ok(await w.applicantA.api.get(`/applications/${id}`)).answers.L1).toBe(
      'Every class learns about sanctuary.',
    );
  });

  it('another school’s application, its evidence and its pages answer the page-not-found page', async () => {
    for (const url of [
      `/apply/${id}`,
      `/apply/${id}/criteria/L1`,
      `/apply/${id}/check`,
      `/apply/${id}/tasks`,
    ]) {
      const res = await b.get(url);
      expect([url, res.status, h1(res.html)]).toEqual([url, 404, 'Page not found']);
    }
    const pledge = await b.get(`/apply/organisations/${w.orgA}/pledge`);
    expect(pledge.status).toBe(404);
    await b.get('/');
    expect((await b.post(`/apply/${id}/criteria/L1`, { answer: 'mine now' })).status).toBe(404);
    expect((await b.get('/apply/not-an-id')).status).toBe(404);
  });

  it('the area’s lead reads the pages without the organisation’s forms; a form posted anyway is refused', async () => {
    const lead = await signedIn(await emailOf(w.leadA));
    const tasks = await lead.get(`/apply/${id}`);
    expect(tasks.status).toBe(200);
    expect(tasks.html).toContain('only the organisation');
    expect(tasks.html).not.toContain('Check and submit');
    const criterion = await lead.get(`/apply/${id}/criteria/L1`);
    expect(criterion.status).toBe(200);
    expect(criterion.html).toContain('Every class learns about sanctuary.');
    expect(criterion.html).not.toContain('name="answer"');
    expect(criterion.html).not.toContain('enctype="multipart/form-data"');
    expect(criterion.html).not.toContain('/delete"');
    await lead.get('/');
    const refused = await lead.post(`/apply/${id}/criteria/L1`, { answer: 'written by the lead' });
    expect(refused.status).toBe(403);
    expect(ok(await w.applicantA.api.get(`/applications/${id}`)).answers.L1).toBe(
      'Every class learns about sanctuary.',
    );
  });

  it('check answers lists every blocker as a link to the page that fixes it', async () => {
    const check = await a.get(`/apply/${id}/check`);
    expect(check.status).toBe(200);
    expect(check.html).toContain('Before you can submit');
    expect(check.html).toContain(`href="/apply/${id}/criteria/L2#answer"`);
    expect(check.html).toContain(`href="/apply/${id}/criteria/S3#evidence"`);
    expect(check.html).not.toContain('Submit application');
    ok(await event(w.leadA, id, { type: 'WITHDRAW', reason: 'test over' }));
  });
});

describe('submitting, and a stale page', () => {
  it('submits with the version shown; a stale submit shows the latest state', async () => {
    const id = await readyDraft(t.app, w);
    const check = await a.get(`/apply/${id}/check`);
    expect(check.html).toContain('Submit application');
    const version = /name="version" value="(\d+)"/.exec(check.html)?.[1] as string;
    const stale = await a.post(`/apply/${id}/submit`, { version: String(Number(version) - 1) });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('changed by someone else');
    const sent = await a.post(`/apply/${id}/submit`, { version });
    expect(sent.location).toBe(`/apply/${id}?done=submitted`);
    const progress = await a.get(sent.location as string);
    expect(progress.html).toContain('Your application has been submitted');
    expect(progress.html).toContain('Submitted: waiting for your local lead to accept it');
    expect(progress.html).toContain('Application submitted');
    ok(await event(w.leadA, id, { type: 'WITHDRAW', reason: 'test over' }));
  });

  it('a stale response keeps what the person typed', async () => {
    const id = await readyDraft(t.app, w);
    ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
    const panel = await toReviewing(t.app, w, id, 'stale');
    for (const member of panel) ok(await event(member, id, review('met')));
    ok(
      await event(w.leadA, id, {
        type: 'SEND_FEEDBACK',
        criteria: Object.fromEntries(
          SCHOOL_CODES.map((c) => [c, { judgement: 'met', feedback: `Good ${c}` }]),
        ),
        questions: ['How do pupils lead the welcome?'],
      }),
    );
    const page = await a.get(`/apply/${id}`);
    expect(page.html).toContain('How do pupils lead the welcome?');
    expect(page.html).toContain('Good L1');
    const version = /name="version" value="(\d+)"/.exec(page.html)?.[1] as string;
    const typed = 'The pupil council runs a welcome club.';
    const empty = await a.post(`/apply/${id}/respond`, { version, 'answer-1': '' });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toContain('Answer question 1');
    const stale = await a.post(`/apply/${id}/respond`, {
      version: String(Number(version) - 1),
      'answer-1': typed,
    });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('what you typed has been kept');
    expect(stale.html).toContain(typed);
    const sent = await a.post(`/apply/${id}/respond`, { version, 'answer-1': typed });
    expect(sent.location).toBe(`/apply/${id}?done=responded`);
    expect(ok(await w.applicantA.api.get(`/applications/${id}`)).responses).toEqual([typed]);
    ok(await event(w.leadA, id, { type: 'WITHDRAW', reason: 'test over' }));
  });
});

describe('invitations on the home page', () => {
  /** A school of lead A's that someone outside lead A's scope is invited to join. */
  const invite = async (label: string, email: string) => {
    const school = ok(
      await w.leadA.api.post('/organisations', {
        name: `${label} ${Date.now()}`,
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
      }),
      201,
    );
    const res = ok(
      await w.leadA.api.post(`/organisations/${school.id}/members`, {
        email,
        name: 'Invited Person',
      }),
      202,
    );
    return { school, invitationId: res.invitation.id as string };
  };

  it('lists what a lead offered, and accepting grants it; declining grants nothing', async () => {
    const email = await emailOf(w.applicantB);
    const accepted = await invite('Invited Accepted School', email);
    const declined = await invite('Invited Declined School', email);
    const browser = await signedIn(await emailOf(w.applicantB));
    const home = await browser.get('/');
    expect(home.html).toContain('Invitations waiting for you');
    expect(home.html).toContain(`Join ${accepted.school.name}`);
    expect(home.html).toContain(`Join ${declined.school.name}`);

    const no = await browser.post(`/invitations/${declined.invitationId}/decline`);
    expect(no.location).toBe('/?done=invitationDeclined');
    const yes = await browser.post(`/invitations/${accepted.invitationId}/accept`);
    expect(yes.location).toBe('/?done=invitationAccepted');

    const after = await browser.get('/?done=invitationAccepted');
    expect(after.html).toContain('You have accepted the invitation.');
    expect(after.html).not.toContain('Invitations waiting for you');
    // The accepted school is now one of the person's organisations; the declined one is not.
    expect(after.html).toContain(`<h3 class="govuk-heading-s">${accepted.school.name}</h3>`);
    expect(after.html).not.toContain(declined.school.name);
    const me = ok(await w.applicantB.api.get('/me'));
    expect(me.organisations.map((o: { id: string }) => o.id)).toContain(accepted.school.id);
    expect(me.organisations.map((o: { id: string }) => o.id)).not.toContain(declined.school.id);
  });

  it('an expired invitation is refused in plain words; someone else’s is the page-not-found page', async () => {
    // A member of a school of area B, never invited before (so outside lead A's scope).
    const email = `invited.${Date.now()}@example.org`;
    ok(
      await w.admin.api.post('/users', {
        email,
        name: 'Invited Person',
        grants: [{ role: 'applicant', organisationId: w.orgB }],
      }),
      201,
    );
    const { invitationId } = await invite('Invited Expired School', email);
    await t.database.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', invitationId)
      .execute();
    const browser = await signedIn(email);
    await browser.get('/');
    const refused = await browser.post(`/invitations/${invitationId}/accept`);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('That invitation can no longer be accepted');

    const { invitationId: theirs } = await invite('Invited Other School', email);
    const other = await signedIn(await emailOf(w.applicantA));
    await other.get('/');
    expect((await other.post(`/invitations/${theirs}/accept`)).status).toBe(404);
    expect((await other.post('/invitations/not-an-id/accept')).status).toBe(404);
    // Without the form's token nothing is answered.
    const forged = await browser.post(`/invitations/${theirs}/accept`, {}, { csrf: false });
    expect(forged.status).toBe(403);
  });
});

describe('an answer changed meanwhile', () => {
  it('is not overwritten: the page shows the answer saved now and keeps what the person typed', async () => {
    const id = await readyDraft(t.app, w);
    const browser = await signedIn(await emailOf(w.applicantA));
    const page = await browser.get(`/apply/${id}/criteria/L1`);
    const shown = /name="previous" value="([^"]*)"/.exec(page.html)?.[1];
    expect(shown).toBeDefined();
    // Someone else saves L1 while the page is open.
    ok(await w.applicantA.api.put(`/applications/${id}/answers/L1`, { text: 'Changed by a colleague' }));

    const typed = 'Our staff training, as I wrote it';
    const stale = await browser.post(`/apply/${id}/criteria/L1`, { answer: typed, previous: shown ?? '' });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('Someone else changed this answer while you were editing it');
    expect(stale.html).toContain('Changed by a colleague');
    expect(stale.html).toContain(`>${typed}</textarea>`);
    expect(ok(await w.applicantA.api.get(`/applications/${id}`)).answers.L1).toBe('Changed by a colleague');

    // Saved again from that page, it is saved: the person has seen the colleague's answer.
    const previous = /name="previous" value="([^"]*)"/.exec(stale.html)?.[1] ?? '';
    const saved = await browser.post(`/apply/${id}/criteria/L1`, { answer: typed, previous });
    expect(saved.location).toBe(`/apply/${id}/criteria/L1?saved=1`);
    expect(ok(await w.applicantA.api.get(`/applications/${id}`)).answers.L1).toBe(typed);
  });
});
