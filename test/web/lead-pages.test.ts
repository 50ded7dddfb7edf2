import { beforeAll, describe, expect, it } from '@jest/globals';
import { draftOfNewSchool, event, ok, readyDraft } from '../helpers/applications.ts';
import { eventually } from '../helpers/browser.ts';
import { emailOf, errorSummary, h1, type PageClient, pageClient, usePagesWorld } from '../helpers/pages.ts';

/**
 * The local lead's pages over HTTP (SPEC §9): the dashboard's links, the lists' filters, paging and
 * CSV, organisations (create, edit, members, invitations) and people, each refusal as the API refuses:
 * another area's organisation is the page-not-found page, other roles are forbidden.
 */

const { t, w, mails, signedIn } = usePagesWorld();

const banner = (html: string) =>
  /<div class="govuk-notification-banner[\s\S]*?<\/div>\s*<\/div>/
    .exec(html)?.[0]
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim() ?? '';
/** The rows of the page's table body: each row's cells as text. */
const tableRows = (html: string) =>
  [...(/<tbody[\s\S]*?<\/tbody>/.exec(html)?.[0] ?? '').matchAll(/<tr[\s\S]*?<\/tr>/g)].map((row) =>
    [...row[0].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) =>
      c[1]
        .replace(/<[^>]+>/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  );
/** An href on the page, as a browser would follow it (entities decoded). */
const hrefOf = (html: string, pattern: RegExp) =>
  [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&')).find((h) => pattern.test(h));

let lead: PageClient;
let leadB: PageClient;
let submittedId: string;
const DRAFTS = 30;

beforeAll(async () => {
  lead = await signedIn(await emailOf(w.leadA));
  leadB = await signedIn(await emailOf(w.leadB));
  for (let i = 0; i < DRAFTS; i++) await draftOfNewSchool(t.database.db, w, 'Paging School');
  submittedId = await readyDraft(t.app, w);
  ok(await event(w.applicantA, submittedId, { type: 'SUBMIT' }));
}, 120_000);

describe('the dashboard', () => {
  it('shows the area with every count a link to the list it counts', async () => {
    const page = await lead.get('/lead');
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Coventry');
    const drafts = hrefOf(page.html, /\/lead\/applications\?areaId=.*state=draft$/) as string;
    expect(page.html).toContain(`>${DRAFTS}</a>`);
    const list = await lead.get(drafts);
    expect(list.status).toBe(200);
    expect(tableRows(list.html)).toHaveLength(25);
    expect(tableRows(list.html).every((r) => r[5] === 'Draft')).toBe(true);
    const submitted = hrefOf(page.html, /state=submitted$/) as string;
    const rows = tableRows((await lead.get(submitted)).html);
    expect(rows).toEqual([
      [
        expect.stringContaining('Hillfields Primary School'),
        'Schools of Sanctuary',
        'Coventry',
        'First application',
        '1',
        'Submitted',
        expect.any(String),
      ],
    ]);
  });

  it('shows the first ten items of a long list, and links to the rest in the filtered list', async () => {
    for (let i = 0; i < 12; i++) {
      const org = ok(
        await w.leadA.api.post('/organisations', {
          name: `Pledged School ${i}`,
          streamId: w.schoolsStreamId,
          areaId: w.areaA,
        }),
        201,
      );
      await w.leadA.api.post(`/organisations/${org.id}/members`, { userId: w.applicantA.id });
      ok(
        await w.applicantA.api.post(`/organisations/${org.id}/pledge`, {
          signatoryName: 'Ms Head',
          signatoryRole: 'Headteacher',
        }),
        201,
      );
    }
    const page = await lead.get('/lead');
    const section = page.html.slice(page.html.indexOf('Pledged organisations with no application</h2>'));
    const table = section.slice(0, section.indexOf('</table>'));
    expect(table.match(/Pledged School \d+/g)).toHaveLength(10);
    expect(section).toMatch(
      /href="\/lead\/organisations\?areaId=[^"]+pledged=true">See all 12 in the list<\/a>/,
    );
  });

  it('is another area’s page-not-found for a lead of another area, and forbidden to other roles', async () => {
    expect((await leadB.get(`/lead?area=${w.areaA}`)).status).toBe(404);
    expect((await leadB.get('/lead?area=nowhere')).status).toBe(404);
    expect(h1((await leadB.get('/lead')).html)).toBe('Cardiff');
    const appraiser = await signedIn(await emailOf(w.appraiserA));
    const applicant = await signedIn(await emailOf(w.applicantA));
    for (const who of [appraiser, applicant]) {
      for (const path of [
        '/lead',
        '/lead/applications',
        '/lead/organisations',
        `/lead/organisations/${w.orgA}`,
        '/lead/people',
      ])
        expect([path, (await who.get(path)).status]).toEqual([path, 403]);
      expect((await who.get('/lead/applications.csv')).status).toBe(403);
    }
    // Signed out: the sign-in page.
    expect((await pageClient(t.app).get('/lead')).location).toBe('/sign-in');
  });

  it('lets a lead of two areas choose one, and filter the lists by area', async () => {
    const both = ok(
      await w.admin.api.post('/users', {
        email: 'lead.both@example.org',
        name: 'Lead of both',
        grants: [
          { role: 'lead', areaId: w.areaA },
          { role: 'lead', areaId: w.areaB },
        ],
      }),
      201,
    );
    expect(both.grants).toHaveLength(2);
    const twoAreas = await signedIn('lead.both@example.org');
    const choose = await twoAreas.get('/lead');
    expect(h1(choose.html)).toBe('Choose an area');
    const cardiff = hrefOf(choose.html, new RegExp(`/lead\\?area=${w.areaB}$`)) as string;
    const dashboard = await twoAreas.get(cardiff);
    expect(h1(dashboard.html)).toBe('Cardiff');
    expect(dashboard.html).toContain(`href="/lead?area=${w.areaA}"`);
    const orgs = await twoAreas.get(`/lead/organisations?areaId=${w.areaB}`);
    expect(orgs.html).toMatch(new RegExp(`<option value="${w.areaB}" selected>Cardiff</option>`));
    expect(tableRows(orgs.html).map((r) => r[0])).toEqual(['Ysgol Glan Morfa']);
  });

  it('gives an admin the national summary, each area a link to its dashboard', async () => {
    const admin = await signedIn(await emailOf(w.admin));
    const page = await admin.get('/lead');
    expect(h1(page.html)).toBe('National summary');
    const area = hrefOf(page.html, new RegExp(`/lead\\?area=${w.areaA}$`)) as string;
    expect(h1((await admin.get(area)).html)).toBe('Coventry');
  });
});

describe('the lists', () => {
  it('filter by state, stream, kind and organisation name, and keep the filters in the form', async () => {
    const byState = await lead.get('/lead/applications?state=submitted&stream=&kind=&q=');
    expect(tableRows(byState.html).map((r) => r[0])).toEqual(['Hillfields Primary School']);
    expect(byState.html).toMatch(/<option value="submitted" selected>/);
    const byName = await lead.get('/lead/applications?q=paging+school');
    expect(tableRows(byName.html)).toHaveLength(25);
    expect(tableRows(byName.html).every((r) => r[0].startsWith('Paging School'))).toBe(true);
    expect((await lead.get('/lead/applications?kind=renewal')).html).toContain(
      'Nothing matches these filters.',
    );
    // A filter the form has no field for (from an organisation's page) is said in words, and kept.
    const ofOrg = await lead.get(`/lead/applications?organisationId=${w.orgA}`);
    expect(tableRows(ofOrg.html).map((r) => r[0])).toEqual(['Hillfields Primary School']);
    expect(ofOrg.html).toContain('Showing only Hillfields Primary School.');
    expect(ofOrg.html).toContain(`<input type="hidden" name="organisationId" value="${w.orgA}">`);
    expect((await lead.get(`/lead/applications?organisationId=${w.orgB}`)).status).toBe(404);
    // Lead B sees none of area A's rows, whatever the filters say.
    expect(tableRows((await leadB.get(`/lead/applications?areaId=${w.areaA}`)).html)).toEqual([]);
    // A filter the API would refuse is a bad request, not a crash.
    expect((await lead.get('/lead/applications?kind=sideways')).status).toBe(400);
    expect((await lead.get('/lead/applications?cursor=nonsense')).status).toBe(400);
  });

  it('sort by the API’s sort keys', async () => {
    const byName = await lead.get('/lead/applications?state=draft&sort=organisationName');
    const names = tableRows(byName.html).map((r) => r[0]);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    expect(byName.html).toMatch(/<option value="organisationName" selected>/);
    expect((await lead.get('/lead/applications?sort=sideways')).status).toBe(400);
  });

  it('page forwards and back by keyset cursors', async () => {
    const first = await lead.get('/lead/applications?state=draft');
    const names1 = tableRows(first.html).map((r) => r[0]);
    expect(first.html).not.toContain('govuk-pagination__prev');
    const next = hrefOf(first.html, /cursor=/) as string;
    expect(next).toContain('state=draft');
    const second = await lead.get(next);
    const names2 = tableRows(second.html).map((r) => r[0]);
    expect(names2).toHaveLength(DRAFTS - 25);
    expect(names1.filter((n) => names2.includes(n))).toEqual([]);
    expect(second.html).not.toContain('govuk-pagination__next');
    const back = /<div class="govuk-pagination__prev">[\s\S]*?href="([^"]+)"/
      .exec(second.html)?.[1]
      .replace(/&amp;/g, '&') as string;
    expect(tableRows((await lead.get(back)).html).map((r) => r[0])).toEqual(names1);
  });

  it('download the whole filtered list as CSV, with a file name', async () => {
    const page = await lead.get('/lead/applications?state=draft');
    const csvHref = hrefOf(page.html, /^\/lead\/applications\.csv/) as string;
    expect(csvHref).toBe('/lead/applications.csv?state=draft');
    const csv = await lead.get(csvHref);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="applications.csv"');
    const lines = csv.html
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe(
      'id,organisationId,organisationName,streamId,areaId,kind,round,state,status,version,createdAt,updatedAt',
    );
    expect(lines).toHaveLength(DRAFTS + 1);
    expect(lines.slice(1).every((l) => l.includes(',draft,'))).toBe(true);
    const orgs = await lead.get('/lead/organisations.csv?q=Hillfields');
    expect(orgs.headers['content-disposition']).toBe('attachment; filename="organisations.csv"');
    expect(orgs.html.trim().split(/\r?\n/)).toHaveLength(2);
    const awards = await lead.get('/lead/awards.csv');
    expect(awards.headers['content-disposition']).toBe('attachment; filename="awards.csv"');
  });

  it('list awards and organisations of the area only', async () => {
    const orgs = await lead.get('/lead/organisations?q=Hillfields');
    expect(tableRows(orgs.html).map((r) => r[0])).toEqual(['Hillfields Primary School']);
    expect(tableRows((await lead.get('/lead/organisations?q=Glan')).html)).toEqual([]);
    const awards = await lead.get('/lead/awards?current=true');
    expect(awards.status).toBe(200);
    expect(awards.html).toContain('Nothing matches these filters.');
  });
});

describe('organisations', () => {
  let orgId: string;

  it('refuse a bad form with an error summary and keep what was typed', async () => {
    const form = await lead.get('/lead/organisations/new');
    expect(h1(form.html)).toBe('Add an organisation');
    const bad = await lead.post('/lead/organisations/new', {
      name: '',
      streamId: '',
      urn: 'not a urn!',
      website: 'ftp://example.org',
      phase: 'primary',
    });
    expect(bad.status).toBe(400);
    const summary = errorSummary(bad.html);
    expect(summary).toContain('Enter the name of the organisation');
    expect(summary).toContain('Choose a stream');
    expect(summary).toContain('Enter a reference with letters, digits and dashes only');
    expect(summary).toContain('Enter a website address starting with http:// or https://');
    expect(bad.html).toContain('href="#name"');
    expect(bad.html).toContain('value="not a urn!"');
    expect(bad.html).toContain('value="primary"');
  });

  it('create one in the lead’s area, then change it', async () => {
    const created = await lead.post('/lead/organisations/new', {
      name: 'Earlsdon Library',
      streamId: w.schoolsStreamId,
      urn: 'LIB-1',
      website: 'https://library.example.org',
    });
    expect(created.status).toBe(303);
    orgId = /\/lead\/organisations\/([0-9a-f-]+)\?done=created/.exec(
      created.location as string,
    )?.[1] as string;
    const page = await lead.get(created.location as string);
    expect(h1(page.html)).toBe('Earlsdon Library');
    expect(banner(page.html)).toContain('The organisation has been added.');
    expect(ok(await w.leadA.api.get(`/organisations/${orgId}`)).areaId).toBe(w.areaA);

    const edit = await lead.get(`/lead/organisations/${orgId}/edit`);
    expect(edit.html).toContain('value="Earlsdon Library"');
    const bad = await lead.post(`/lead/organisations/${orgId}/edit`, {
      name: ' ',
      urn: 'LIB-1',
      phase: 'adult',
    });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toContain('Enter the name of the organisation');
    expect(bad.html).toContain('value="adult"');
    const saved = await lead.post(`/lead/organisations/${orgId}/edit`, {
      name: 'Earlsdon Carnegie Library',
      urn: '',
    });
    expect(saved.location).toBe(`/lead/organisations/${orgId}?done=saved`);
    const after = ok(await w.leadA.api.get(`/organisations/${orgId}`));
    expect([after.name, after.urn, after.website]).toEqual(['Earlsdon Carnegie Library', null, null]);
  });

  it('invite a member with the same words whether or not the address has an account', async () => {
    const bad = await lead.post(`/lead/organisations/${orgId}/members`, {
      email: 'not-an-address',
      name: '',
    });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toContain('Enter an email address in the correct format');
    expect(errorSummary(bad.html)).toContain("Enter the person's full name");

    const answers: string[] = [];
    for (const email of [await emailOf(w.applicantB), 'nobody.yet@example.org']) {
      const sent = await lead.post(`/lead/organisations/${orgId}/members`, { email, name: 'A Teacher' });
      expect(sent.status).toBe(303);
      answers.push(sent.location as string);
      answers.push(banner((await lead.get(sent.location as string)).html));
    }
    expect(answers[0]).toBe(answers[2]);
    expect(answers[1]).toBe(answers[3]);
    expect(answers[1]).toContain('We have sent an invitation to that address.');
    // Both addresses are e-mailed.
    await eventually(() => mails().some((m) => m.to.includes('nobody.yet@example.org')), 'the invitation');
  });

  it('are not found for a lead of another area', async () => {
    expect((await leadB.get(`/lead/organisations/${orgId}`)).status).toBe(404);
    expect((await leadB.get(`/lead/organisations/${orgId}/edit`)).status).toBe(404);
    expect((await leadB.post(`/lead/organisations/${orgId}/edit`, { name: 'Mine now' })).status).toBe(404);
    expect(
      (await leadB.post(`/lead/organisations/${orgId}/members`, { email: 'x@example.org', name: 'X' }))
        .status,
    ).toBe(404);
    expect((await lead.get('/lead/organisations/not-a-uuid')).status).toBe(404);
    expect(ok(await w.leadA.api.get(`/organisations/${orgId}`)).name).toBe('Earlsdon Carnegie Library');
  });
});

describe('people', () => {
  it('lists people within reach with their appraiser profile', async () => {
    const page = await lead.get('/lead/people?role=appraiser');
    const rows = tableRows(page.html);
    const appraiser = rows.find((r) => r[0] === 'Appraiser A');
    expect(appraiser?.[3]).toContain('Lived experience: Yes');
    expect(appraiser?.[3]).toContain('Home area: Coventry');
    expect(tableRows((await leadB.get('/lead/people?role=appraiser')).html).map((r) => r[0])).not.toContain(
      'Appraiser A',
    );
  });

  it('invites an appraiser with their profile, refusing an unanswered question', async () => {
    const bad = await lead.post('/lead/people/invite', {
      role: 'appraiser',
      name: 'Amal',
      email: 'amal@example.org',
    });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toContain('Select yes if they have lived experience of seeking sanctuary');
    expect(bad.html).toContain('value="amal@example.org"');
    const sent = await lead.post('/lead/people/invite', {
      role: 'appraiser',
      name: 'Amal',
      email: 'amal@example.org',
      livedExperience: 'yes',
      localGroup: 'yes',
    });
    expect(sent.location).toBe('/lead/people?done=invited');
    expect(banner((await lead.get(sent.location as string)).html)).toContain('We have sent an invitation');
  });

  it('invites an applicant of one of the lead’s organisations only', async () => {
    const form = await lead.get('/lead/people/invite?role=applicant');
    expect(form.html).toContain('Hillfields Primary School');
    expect(form.html).not.toContain('Ysgol Glan Morfa');
    const other = await lead.post('/lead/people/invite', {
      role: 'applicant',
      name: 'B',
      email: 'b.teacher@example.org',
      organisationId: w.orgB,
    });
    expect(other.status).toBe(400);
    expect(errorSummary(other.html)).toContain('Choose one of your organisations');
    const known = await lead.post('/lead/people/invite', {
      role: 'applicant',
      name: 'A',
      email: await emailOf(w.applicantA),
      organisationId: w.orgA,
    });
    expect(errorSummary(known.html)).toContain('already has an account you can see');
  });

  it('reads in Welsh', async () => {
    const page = await lead.get('/lead/people', { 'accept-language': 'cy' });
    expect(h1(page.html)).toMatch(/^(Pobl|People)$/);
    const welsh = await lead.get('/lead/organisations?lang=cy');
    const shown = await lead.get(welsh.location as string);
    expect(h1(shown.html)).toBe('Sefydliadau');
    await lead.get('/lead?lang=en');
  });
});
