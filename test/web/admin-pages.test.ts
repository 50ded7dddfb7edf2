import { beforeAll, describe, expect, it } from '@jest/globals';
import { ok, readyDraft } from '../helpers/applications.ts';
import { eventually } from '../helpers/browser.ts';
import {
  emailOf,
  errorSummary,
  h1,
  type PageClient,
  pageClient,
  pageText,
  usePagesWorld,
} from '../helpers/pages.ts';

/**
 * The admins' pages over HTTP (SPEC §9 "Admins"): who may open them (anyone else gets the
 * page-not-found page), the forms' validation as error summaries with what was typed kept, the
 * criteria-set preview and publishing (applications keep their pinned version), a version published
 * meanwhile, the national summary, people and webhooks — each through the API's own services.
 */

const { t, w, mails, signedIn } = usePagesWorld();

const text = pageText;

let admin: PageClient;
beforeAll(async () => {
  admin = await signedIn(await emailOf(w.admin));
});

describe('who may open the admin pages', () => {
  it('sends a signed-out visitor to sign in', async () => {
    const res = await pageClient(t.app).get('/admin');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/sign-in');
  });

  it('answers the page-not-found page to a lead, a panel member and an applicant, for reads and forms', async () => {
    for (const actor of [w.leadA, w.appraiserA, w.applicantA]) {
      const browser = await signedIn(await emailOf(actor));
      for (const url of [
        '/admin',
        '/admin/areas',
        `/admin/streams/${w.schoolsStreamId}/publish`,
        '/admin/people',
      ]) {
        const res = await browser.get(url);
        expect([url, res.status, h1(res.html)]).toEqual([url, 404, 'Page not found']);
      }
      await browser.get('/');
      const post = await browser.post('/admin/areas/new', {
        name: 'Sneaky',
        nation: 'england',
        active: 'true',
      });
      expect(post.status).toBe(404);
      // The menu offers administration to admins only.
      expect((await browser.get('/')).html).not.toContain('href="/admin"');
    }
    expect(ok(await w.admin.api.get('/areas')).items.map((a: { name: string }) => a.name)).not.toContain(
      'Sneaky',
    );
  });

  it('shows an admin the parts of administration', async () => {
    const res = await admin.get('/admin');
    expect(res.status).toBe(200);
    expect(h1(res.html)).toBe('Administration');
    for (const href of [
      '/admin/areas',
      '/admin/streams',
      '/admin/summary',
      '/admin/people',
      '/admin/webhooks',
    ])
      expect(res.html).toContain(`href="${href}"`);
  });
});

describe('in Welsh', () => {
  it('shows the admin pages in Welsh', async () => {
    const cy = { 'accept-language': 'cy' };
    expect(h1((await admin.get('/admin', cy)).html)).toBe('Gweinyddu');
    expect(h1((await admin.get('/admin/areas', cy)).html)).toBe('Ardaloedd');
    expect(text((await admin.get(`/admin/streams/${w.schoolsStreamId}/publish`, cy)).html)).toContain(
      "Mae ceisiadau'n cadw",
    );
  });
});

describe('areas', () => {
  it('refuses a form without a name or nation with an error summary, keeping what was typed', async () => {
    await admin.get('/admin/areas/new');
    const res = await admin.post('/admin/areas/new', {
      name: '',
      region: 'North East',
      localAuthorities: 'Newcastle\nGateshead',
      active: 'true',
    });
    expect(res.status).toBe(400);
    expect(errorSummary(res.html)).toContain("Enter the area's name");
    expect(errorSummary(res.html)).toContain('Select the nation the area is in');
    expect(res.html).toContain('value="North East"');
    expect(res.html).toContain('Newcastle\nGateshead');
  });

  it('creates, changes, deactivates and activates an area through the areas service', async () => {
    await admin.get('/admin/areas/new');
    const created = await admin.post('/admin/areas/new', {
      name: 'Tyneside',
      nation: 'england',
      region: 'North East',
      localAuthorities: 'Newcastle\n\nGateshead ',
      leadOrganisation: '',
      active: 'true',
    });
    expect(created.status).toBe(303);
    const area = ok(await w.admin.api.get('/areas?limit=100')).items.find(
      (a: { name: string }) => a.name === 'Tyneside',
    );
    expect(area).toMatchObject({
      nation: 'england',
      region: 'North East',
      localAuthorities: ['Newcastle', 'Gateshead'],
      active: true,
    });

    const list = await admin.get('/admin/areas?done=created');
    expect(list.html).toContain('The area was added.');
    // Only the outcomes the page knows are announced.
    expect((await admin.get('/admin/areas?done=hacked')).html).not.toContain('govuk-notification-banner');
    expect(list.html).toContain(`id="area-${area.id}"`);

    const edit = await admin.get(`/admin/areas/${area.id}`);
    expect(edit.html).toContain('value="Tyneside"');
    const taken = await admin.post(`/admin/areas/${area.id}`, {
      name: 'Coventry',
      nation: 'england',
      region: 'North East',
      localAuthorities: '',
      active: 'true',
    });
    expect(taken.status).toBe(400);
    expect(errorSummary(taken.html)).toContain('An area named Coventry already exists');
    expect(
      (
        await admin.post(`/admin/areas/${area.id}`, {
          name: 'Tyneside and Wear',
          nation: 'england',
          region: '',
          localAuthorities: 'Newcastle',
          leadOrganisation: 'Tyneside EMAS',
          active: 'true',
        })
      ).status,
    ).toBe(303);
    expect(
      ok(await w.admin.api.get('/areas?limit=100')).items.find((a: { id: string }) => a.id === area.id),
    ).toMatchObject({
      name: 'Tyneside and Wear',
      region: null,
      leadOrganisation: 'Tyneside EMAS',
    });

    await admin.get('/admin/areas');
    expect((await admin.post(`/admin/areas/${area.id}/active`, { active: 'false' })).location).toContain(
      'done=deactivated',
    );
    expect(ok(await w.admin.api.get('/areas?active=false')).items.map((a: { id: string }) => a.id)).toContain(
      area.id,
    );
    await admin.post(`/admin/areas/${area.id}/active`, { active: 'true' });
    expect(ok(await w.admin.api.get('/areas?active=true')).items.map((a: { id: string }) => a.id)).toContain(
      area.id,
    );
  });

  it('answers the page-not-found page for an unknown area', async () => {
    expect((await admin.get('/admin/areas/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await admin.get('/admin/areas/nope')).status).toBe(404);
  });

  it('refuses a form without its CSRF token', async () => {
    const res = await admin.post(
      '/admin/areas/new',
      { name: 'No token', nation: 'wales', active: 'true' },
      { csrf: false },
    );
    expect(res.status).toBe(403);
  });
});

describe('criteria-set versions', () => {
  const publishUrl = () => `/admin/streams/${w.schoolsStreamId}/publish`;
  /** The current school criteria as the form posts them, changed by `edit`. */
  type Row = { code: string; process: string; title: string; titleCy?: string | null };
  /** The publishing form's rows as the browser sends them: the current criteria, then the edit. */
  async function formRows(edit: (rows: Row[]) => void) {
    const stream = ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`));
    const rows = stream.criteriaSet.criteria.map((c: Row) => ({ ...c }));
    edit(rows);
    const body = new URLSearchParams();
    for (const r of rows) {
      body.append('code', r.code);
      body.append('process', r.process);
      body.append('title', r.title);
      body.append('titleCy', r.titleCy ?? '');
    }
    return body;
  }
  async function post(body: URLSearchParams, step: string, extra: Record<string, string> = {}) {
    await admin.get(publishUrl());
    const token = admin.jar.size
      ? (/name="_csrf" value="([^"]+)"/.exec((await admin.get(publishUrl())).html)?.[1] ?? '')
      : '';
    body.set('_csrf', token);
    body.set('step', step);
    for (const [k, v] of Object.entries(extra)) body.set(k, v);
    const res = await t.app.inject({
      method: 'POST',
      url: publishUrl(),
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...admin.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; '),
      },
      payload: body.toString(),
    });
    return { status: res.statusCode, html: res.body, location: res.headers.location as string | undefined };
  }

  let pinnedApplication: string;
  beforeAll(async () => {
    // An application started under version 1.
    pinnedApplication = await readyDraft(t.app, w);
  });

  it('offers the current criteria on the form, with blank rows', async () => {
    const res = await admin.get(publishUrl());
    expect(res.status).toBe(200);
    expect(res.html).toContain('value="L1"');
    expect(res.html).toContain('id="code-9"');
    expect(res.html).toContain('Applications keep the version they started with');
  });

  it('refuses bad rows with an error summary, keeping every row typed', async () => {
    const body = await formRows((rows) => {
      rows[0].code = 'l 1!';
      rows[1].title = '';
      rows.push({ code: 'E1', process: 'embed', title: 'A second E1' });
    });
    const res = await post(body, 'preview');
    expect(res.status).toBe(400);
    expect(errorSummary(res.html)).toContain('Enter the code of criterion 1');
    expect(errorSummary(res.html)).toContain('Enter the wording of criterion 2');
    expect(res.html).toContain('href="#code-0"');
    expect(res.html).toContain('A second E1');

    const duplicate = await post(
      await formRows((rows) => rows.push({ code: 'E1', process: 'embed', title: 'Again' })),
      'preview',
    );
    expect(duplicate.status).toBe(400);
    expect(errorSummary(duplicate.html)).toContain('The code E1 is used twice');
    expect(duplicate.html).toContain('href="#code-8"');

    const noShare = await post(await formRows((rows) => rows.splice(5, 3)), 'preview');
    expect(noShare.status).toBe(400);
    expect(errorSummary(noShare.html)).toContain(
      'Every core process needs at least one criterion. Missing: Share',
    );
    expect(ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`)).criteriaSet.version).toBe(1);
  });

  it('adds blank rows without JavaScript', async () => {
    const res = await post(await formRows(() => {}), 'more');
    expect(res.status).toBe(200);
    expect(res.html).toContain('id="code-10"');
  });

  it('previews what changes (added, removed, reworded) and publishes nothing yet', async () => {
    const body = await formRows((rows) => {
      rows[0].title = 'Staff, governors and pupils understand the experiences of people seeking sanctuary';
      rows.splice(7, 1); // S3 removed
      rows.push({ code: 'S4', process: 'share', title: 'The school speaks up for people seeking sanctuary' });
    });
    const res = await post(body, 'preview', { note: 'Reworded in 2026' });
    expect(res.status).toBe(200);
    const page = text(res.html);
    expect(page).toContain('Added: 1 criterion');
    expect(page).toContain('S4 · Share');
    expect(page).toContain('Removed: 1 criterion');
    expect(page).toContain('S3 · Share');
    expect(page).toContain('Reworded: 1 criterion');
    expect(page).toContain('Staff, governors and pupils understand');
    expect(page).toContain('6 criteria stay as they are.');
    expect(page).toContain('Publish version 2');
    expect(ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`)).criteriaSet.version).toBe(1);

    // Back to the form with the rows as they were typed.
    const back = await post(body, 'edit');
    expect(back.html).toContain('value="S4"');
    expect(back.html).not.toContain('value="S3"');
  });

  it('publishes the version; the application started before keeps its pinned criteria', async () => {
    const body = await formRows((rows) => {
      rows.splice(7, 1);
      rows.push({
        code: 'S4',
        process: 'share',
        title: 'The school speaks up for people seeking sanctuary',
        titleCy: 'Mae’r ysgol yn siarad dros bobl sy’n ceisio noddfa',
      });
    });
    const res = await post(body, 'publish', { basedOn: '1', note: 'Reworded in 2026' });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`/admin/streams/${w.schoolsStreamId}?done=published-2`);
    const stream = ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`));
    expect(stream.criteriaSet).toMatchObject({ version: 2, note: 'Reworded in 2026' });
    expect(stream.criteriaSet.criteria.map((c: { code: string }) => c.code)).toContain('S4');
    // The Welsh wording goes with each criterion: kept for those carried over, given for the new one.
    const welsh = Object.fromEntries(
      stream.criteriaSet.criteria.map((c: { code: string; titleCy: string | null }) => [c.code, c.titleCy]),
    );
    expect(welsh.L1).toMatch(/^Mae staff a llywodraethwyr/);
    expect(welsh.S4).toBe('Mae’r ysgol yn siarad dros bobl sy’n ceisio noddfa');

    const pinned = ok(await w.applicantA.api.get(`/applications/${pinnedApplication}`));
    expect(pinned.criteria.map((c: { code: string }) => c.code)).toEqual([
      'L1',
      'L2',
      'E1',
      'E2',
      'E3',
      'S1',
      'S2',
      'S3',
    ]);
    const fresh = ok(await w.applicantB.api.post('/applications', { organisationId: w.orgB }), 201);
    expect(fresh.criteria.map((c: { code: string }) => c.code)).toContain('S4');

    const page = await admin.get(res.location as string);
    expect(page.html).toContain('Version 2 was published.');
    expect(text(page.html)).toContain('Reworded in 2026');
  });

  it('shows the preview again, against the newer version, when one was published meanwhile', async () => {
    const body = await formRows((rows) => {
      rows[1].title = 'Pupils learn about sanctuary in every key stage';
    });
    // Someone else publishes version 3 through the API while this preview (made against 2) is open.
    const current = ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`)).criteriaSet.criteria;
    ok(await w.admin.api.post(`/streams/${w.schoolsStreamId}/criteria-sets`, { criteria: current }), 201);
    const res = await post(body, 'publish', { basedOn: '2' });
    expect(res.status).toBe(200);
    expect(text(res.html)).toContain('Someone published version 3 while you were working');
    expect(text(res.html)).toContain('Publish version 4');
    expect(ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`)).criteriaSet.version).toBe(3);
  });

  it('lists the streams and a stream’s versions', async () => {
    expect(text((await admin.get('/admin/streams')).html)).toContain('Schools');
    const stream = text((await admin.get(`/admin/streams/${w.schoolsStreamId}`)).html);
    expect(stream).toContain('Every version');
    expect(stream).toContain('Criteria: version 3');
    expect((await admin.get('/admin/streams/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('the national summary', () => {
  it('shows every area with its counts', async () => {
    const res = await admin.get('/admin/summary');
    expect(res.status).toBe(200);
    expect(h1(res.html)).toBe('National summary');
    const page = text(res.html);
    expect(page).toContain('Coventry');
    expect(page).toContain('Cardiff');
    expect(page).toContain('Open applications');
  });
});

describe('people and grants', () => {
  it('lists and finds people by email and role', async () => {
    const all = await admin.get('/admin/people');
    expect(text(all.html)).toContain('Lead A');
    const byEmail = text(
      (await admin.get(`/admin/people?email=${encodeURIComponent(await emailOf(w.leadB))}`)).html,
    );
    expect(byEmail).toContain('Lead B');
    expect(byEmail).not.toContain('Lead A');
    expect(byEmail).toContain('Local lead of Cardiff');
    const appraisers = text((await admin.get('/admin/people?role=appraiser')).html);
    expect(appraisers).toContain('Appraiser A');
    expect(appraisers).not.toContain('Applicant A');
  });

  it('shows a person’s grants and appraiser profile', async () => {
    const res = await admin.get(`/admin/people/${w.appraiserA.id}`);
    expect(h1(res.html)).toBe('Appraiser A');
    const page = text(res.html);
    expect(page).toContain('Panel member');
    expect(page).toContain('Has lived experience of seeking sanctuary Yes');
    expect(page).toContain('Home area Coventry');
    expect((await admin.get('/admin/people/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('invites someone with grants, refusing bad input and a taken address', async () => {
    await admin.get('/admin/people/new');
    const bad = await admin.post('/admin/people/new', { name: '', email: 'not an address', roles: 'lead' });
    expect(bad.status).toBe(400);
    const summary = errorSummary(bad.html);
    expect(summary).toContain('Enter their name');
    expect(summary).toContain('Enter their email address');
    expect(summary).toContain('Choose the area they lead');
    expect(bad.html).toContain('value="not an address"');

    const taken = await admin.post('/admin/people/new', {
      name: 'Again',
      email: await emailOf(w.leadA),
      roles: 'appraiser',
    });
    expect(taken.status).toBe(400);
    expect(errorSummary(taken.html)).toContain('Someone already has an account with this email address');

    const before = mails().length;
    const form = new URLSearchParams({
      name: 'Nia Lead',
      email: 'nia.lead@example.org',
      leadAreaId: w.areaB,
      homeAreaId: w.areaB,
    });
    const res = await admin.post('/admin/people/new', {
      ...Object.fromEntries(form),
      roles: 'lead',
    });
    expect(res.status).toBe(303);
    const user = ok(await w.admin.api.get('/users?email=nia.lead@example.org')).items[0];
    expect(user.grants).toEqual([{ role: 'lead', areaId: w.areaB }]);
    expect(res.location).toBe(`/admin/people/${user.id}?done=invited`);
    await eventually(
      () =>
        mails()
          .slice(before)
          .find((m) => m.to.includes('nia.lead@example.org')),
      'the invitation',
    );
    expect(text((await admin.get(res.location as string)).html)).toContain(
      'An invitation to sign in was sent to nia.lead@example.org',
    );
  });
});

describe('webhooks', () => {
  it('refuses a bad or private address, creates one showing its secret once, lists it and deletes it', async () => {
    await admin.get('/admin/webhooks/new');
    const bad = await admin.post('/admin/webhooks/new', { url: 'not a url', areaId: '' });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toContain('Enter a web address');
    expect(errorSummary(bad.html)).toContain('Select at least one event');

    const loopback = await admin.post('/admin/webhooks/new', {
      url: 'https://127.0.0.1/hook',
      eventTypes: '*',
    });
    expect(loopback.status).toBe(400);
    expect(errorSummary(loopback.html)).toContain('This address cannot receive webhooks');

    const created = await admin.post('/admin/webhooks/new', {
      url: 'https://93.184.215.14/hook',
      eventTypes: 'award.AWARDED',
      areaId: w.areaA,
      description: 'Coventry register feed',
    });
    expect(created.status).toBe(200);
    expect(text(created.html)).toContain('This is the only time the secret is shown');
    const [subscription] = ok(await w.admin.api.get('/webhooks')).items;
    expect(subscription).toMatchObject({
      url: 'https://93.184.215.14/hook',
      eventTypes: ['award.AWARDED'],
      areaId: w.areaA,
    });

    expect(text((await admin.get('/admin/webhooks')).html)).toContain('Coventry register feed');
    const one = await admin.get(`/admin/webhooks/${subscription.id}`);
    expect(text(one.html)).toContain('Nothing has been sent yet.');
    const deleted = await admin.post(`/admin/webhooks/${subscription.id}/delete`);
    expect(deleted.location).toBe('/admin/webhooks?done=deleted');
    expect(ok(await w.admin.api.get('/webhooks')).items).toEqual([]);
    expect((await admin.get(`/admin/webhooks/${subscription.id}`)).status).toBe(404);
  });
});
