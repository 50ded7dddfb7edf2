import { afterEach, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import {
  event,
  ok,
  readyDraft,
  review,
  SCHOOL_CODES,
  toReviewing,
  uploadEvidence,
} from '../helpers/applications.ts';
import type { Res } from '../helpers/client.ts';
import { awardedApplication } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

/**
 * SPEC §5, §8: every application and award view carries an ETag; `If-None-Match` with the current one
 * answers 304 without a body, and with any other (or when anything the caller's view shows changed)
 * the whole view. The view depends on who asks, so the ETag does too; `If-Match` compares versions only.
 */
const { t, w } = useWorld();

// One open application per organisation: each test withdraws what it opened.
afterEach(async () => {
  const listed = ok(await w.admin.api.get(`/applications?organisationId=${w.orgA}`));
  for (const a of listed.items as { id: string; status: string }[]) {
    if (!['awarded', 'notAwarded', 'withdrawn', 'lapsed'].includes(a.status))
      ok(await event(w.admin, a.id, { type: 'WITHDRAW', reason: 'Test done' }));
  }
});

const etagOf = (res: Res) => res.headers.etag as string;
const revalidate = (actor: Actor, url: string, etag: string) => actor.api.get(url, { 'if-none-match': etag });

/** The view's ETag now, after checking it still validates (304, no body, the same ETag). */
async function currentEtag(actor: Actor, url: string): Promise<string> {
  const read = await actor.api.get(url);
  ok(read);
  const etag = etagOf(read);
  const again = await revalidate(actor, url, etag);
  expect(again.status).toBe(304);
  expect(again.text).toBe('');
  expect(etagOf(again)).toBe(etag);
  return etag;
}

/** After `change`, the old ETag no longer validates: the whole view comes back, with a new ETag. */
async function expectChangedBy(actor: Actor, url: string, change: () => Promise<unknown>) {
  const before = await currentEtag(actor, url);
  await change();
  const after = await revalidate(actor, url, before);
  expect(after.status).toBe(200);
  expect(after.body.id).toBeDefined();
  expect(etagOf(after)).not.toBe(before);
  expect((await revalidate(actor, url, etagOf(after))).status).toBe(304);
  return after.body;
}

describe('GET /applications/{id} with If-None-Match', () => {
  it('answers 304 without a body for the current ETag, `*` or a list naming it; 200 for another', async () => {
    const id = await readyDraft(t.app, w);
    const url = `/applications/${id}`;
    const etag = await currentEtag(w.applicantA, url);
    expect(etag).toMatch(/^W\/"\d+-[A-Za-z0-9_-]+"$/);
    expect((await revalidate(w.applicantA, url, '*')).status).toBe(304);
    expect((await revalidate(w.applicantA, url, `W/"0-nothing", ${etag}`)).status).toBe(304);
    // The strong form of the same tag matches too (If-None-Match compares weakly).
    expect((await revalidate(w.applicantA, url, etag.replace(/^W\//, ''))).status).toBe(304);
    const stale = await revalidate(w.applicantA, url, 'W/"1-nothing"');
    expect(stale.status).toBe(200);
    expect(stale.body.id).toBe(id);
    expect(etagOf(stale)).toBe(etag);
  });

  it('is per caller: another caller’s ETag is not theirs, and out of scope stays 404', async () => {
    const id = await readyDraft(t.app, w);
    const url = `/applications/${id}`;
    const applicants = await currentEtag(w.applicantA, url);
    const leads = await currentEtag(w.leadA, url);
    // The applicant is offered SUBMIT, the lead is not: different views, different ETags.
    expect(leads).not.toBe(applicants);
    const asLead = await revalidate(w.leadA, url, applicants);
    expect(asLead.status).toBe(200);
    expect(asLead.body.allowedEvents).not.toContain('SUBMIT');
    // A valid ETag does not open an application to someone outside its scope, nor reveal it exists.
    expect((await revalidate(w.leadB, url, leads)).status).toBe(404);
    expect((await revalidate(w.applicantB, url, '*')).status).toBe(404);
  });

  it('changes with the application’s answers, evidence and transitions; not with a download', async () => {
    const id = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201).id as string;
    const url = `/applications/${id}`;
    const answered = await expectChangedBy(w.applicantA, url, () =>
      w.applicantA.api.put(`${url}/answers/L1`, { text: 'A new answer' }),
    );
    expect(answered.answers.L1).toBe('A new answer');
    // The lead sees the answer too: their ETag changed with it.
    await expectChangedBy(w.leadA, url, () =>
      w.applicantA.api.put(`${url}/answers/L2`, { text: 'Another answer' }),
    );
    let evidenceId = '';
    const evidenced = await expectChangedBy(w.applicantA, url, async () => {
      evidenceId = ok(await uploadEvidence(t.app, w.applicantA, id, ['L1', 'E1'], `reval-${id}`), 201)
        .items[0].id;
    });
    expect(evidenced.evidenceCounts).toEqual({ L1: 1, E1: 1 });
    // Reading a file is recorded in the history but changes no view.
    const etag = await currentEtag(w.applicantA, url);
    ok(await w.applicantA.api.get(`${url}/evidence/${evidenceId}/content`));
    expect((await revalidate(w.applicantA, url, etag)).status).toBe(304);
    const deleted = await expectChangedBy(w.applicantA, url, () =>
      w.applicantA.api.delete(`${url}/evidence/${evidenceId}`),
    );
    expect(deleted.evidenceCounts).toEqual({});
    const withdrawn = await expectChangedBy(w.leadA, url, () =>
      event(w.applicantA, id, { type: 'WITHDRAW', reason: 'Not this year' }),
    );
    expect(withdrawn.state).toBe('withdrawn');
  });

  it('changes with what the view shows of other records: names, pledge, area, grants, profiles', async () => {
    const id = await readyDraft(t.app, w);
    const url = `/applications/${id}`;
    const db = t.database.db;
    const renamed = await expectChangedBy(w.applicantA, url, () =>
      w.leadA.api.patch(`/organisations/${w.orgA}`, { name: 'Hillfields Primary' }),
    );
    expect(renamed.organisationName).toBe('Hillfields Primary');
    // SUBMIT's blockers read the pledge and whether the area has an active lead.
    const unpledged = await expectChangedBy(w.applicantA, url, () =>
      db.deleteFrom('pledges').where('organisation_id', '=', w.orgA).execute(),
    );
    expect(unpledged.blockers.SUBMIT).toEqual(['The City of Sanctuary pledge has not been signed']);
    await expectChangedBy(w.applicantA, url, () =>
      w.applicantA.api.post(`/organisations/${w.orgA}/pledge`, {
        signatoryName: 'Ms Head',
        signatoryRole: 'Headteacher',
      }),
    );
    const inactive = await expectChangedBy(w.applicantA, url, () =>
      w.admin.api.patch(`/areas/${w.areaA}`, { active: false }),
    );
    expect(inactive.blockers.SUBMIT).toHaveLength(1);
    await expectChangedBy(w.applicantA, url, () => w.admin.api.patch(`/areas/${w.areaA}`, { active: true }));
    const leadless = await expectChangedBy(w.applicantA, url, () =>
      db.deleteFrom('grants').where('role', '=', 'lead').where('area_id', '=', w.areaA).execute(),
    );
    expect(leadless.blockers.SUBMIT).toHaveLength(1);
    await expectChangedBy(w.applicantA, url, () =>
      db.insertInto('grants').values({ user_id: w.leadA.id, role: 'lead', area_id: w.areaA }).execute(),
    );

    // The panel: its members' names (for everyone who sees them) and profiles (for the lead).
    ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
    const panel = await toReviewing(t.app, w, id, 'reval');
    const named = await expectChangedBy(panel[1], url, () =>
      db.updateTable('users').set({ name: 'Renamed Member' }).where('id', '=', panel[0].id).execute(),
    );
    expect(named.panel.map((m: { name: string }) => m.name)).toContain('Renamed Member');
    const profiled = await expectChangedBy(w.leadA, url, () =>
      db
        .updateTable('appraiser_profiles')
        .set({ cos_staff: true })
        .where('user_id', '=', panel[2].id)
        .execute(),
    );
    expect(profiled.panel.find((m: { userId: string }) => m.userId === panel[2].id).cosStaff).toBe(true);
    // Who reviewed shows on the panel: a review changes the other members' views.
    await expectChangedBy(panel[1], url, () => event(panel[0], id, review('met')));
  });

  it('a change made in a transaction counts once it commits, not before', async () => {
    const id = await readyDraft(t.app, w);
    const url = `/applications/${id}`;
    const before = await currentEtag(w.applicantA, url);
    await t.database.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('organisations').set({ name: 'Never So' }).where('id', '=', w.orgA).execute();
        throw new Error('rolled back');
      })
      .catch(() => {});
    expect((await revalidate(w.applicantA, url, before)).status).toBe(304);
    const generation = async () =>
      (await sql<{ g: string }>`select generation::text as g from directory_changes`.execute(t.database.db))
        .rows[0].g;
    const g0 = await generation();
    // Many rows changed in one transaction count as one change.
    await t.database.db
      .updateTable('users')
      .set({ name: sql`name` })
      .where('id', 'in', [w.leadA.id, w.leadB.id, w.applicantA.id])
      .execute();
    expect(BigInt(await generation())).toBe(BigInt(g0) + 1n);
  });

  it('a view as of an earlier instant is never answered 304', async () => {
    const id = await readyDraft(t.app, w);
    const at = new Date().toISOString();
    const url = `/applications/${id}?asOf=${encodeURIComponent(at)}`;
    const res = await w.applicantA.api.get(url);
    ok(res);
    expect((await revalidate(w.applicantA, url, etagOf(res))).status).toBe(200);
    expect((await revalidate(w.applicantA, url, '*')).status).toBe(200);
  });

  it('If-Match still compares versions, whoever’s ETag it is', async () => {
    const id = await readyDraft(t.app, w);
    const applicants = etagOf(await w.applicantA.api.get(`/applications/${id}`));
    const submitted = await event(w.applicantA, id, { type: 'SUBMIT' }, { 'if-match': applicants });
    expect(submitted.status).toBe(200);
    // The answer's ETag is the caller's view after the event: it validates at once.
    expect((await revalidate(w.applicantA, `/applications/${id}`, etagOf(submitted))).status).toBe(304);
    // The applicant's ETag names the old version: stale for the lead too.
    expect((await event(w.leadA, id, { type: 'ACCEPT' }, { 'if-match': applicants })).status).toBe(412);
    expect((await event(w.leadA, id, { type: 'ACCEPT' }, { 'if-match': etagOf(submitted) })).status).toBe(
      200,
    );
  });
});

describe('answers after a transition', () => {
  it('the ETag an event answers with is the one a read gives', async () => {
    const id = await readyDraft(t.app, w);
    const submitted = await event(w.applicantA, id, { type: 'SUBMIT' });
    expect(etagOf(submitted)).toBe(etagOf(await w.applicantA.api.get(`/applications/${id}`)));
    const accepted = await event(w.leadA, id, { type: 'ACCEPT' });
    expect(etagOf(accepted)).toBe(etagOf(await w.leadA.api.get(`/applications/${id}`)));
    expect(accepted.body).toEqual((await w.leadA.api.get(`/applications/${id}`)).body);
    expect(SCHOOL_CODES.every((c) => accepted.body.answers[c])).toBe(true);
  });
});

describe('GET /awards/{id} with If-None-Match', () => {
  it('answers 304 for the current ETag, per caller; 200 once the award or its organisation changed', async () => {
    const { awardId } = await awardedApplication(t.app, w, 'reval-award');
    const url = `/awards/${awardId}`;
    const members = await currentEtag(w.applicantA, url);
    const admins = await currentEtag(w.admin, url);
    // The admin may revoke, the members may not: different views.
    expect(admins).not.toBe(members);
    expect((await revalidate(w.admin, url, members)).status).toBe(200);
    expect((await revalidate(w.leadB, url, admins)).status).toBe(404);
    await expectChangedBy(w.applicantA, url, () =>
      w.leadA.api.patch(`/organisations/${w.orgA}`, { name: 'Hillfields School' }),
    );
    const revoked = await expectChangedBy(w.applicantA, url, () =>
      w.admin.api.post(`${url}/events`, { type: 'REVOKE', reason: 'Test' }),
    );
    expect(revoked.state).toBe('revoked');
  });
});
