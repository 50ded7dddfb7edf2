import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, review, toReviewing } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/** The read endpoints around an application and its award, for every caller who should not reach them. */

const { t, w } = useWorld();
let id: string;
let awardId: string;
let outsider: Actor;
beforeAll(async () => {
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  const panel = await toReviewing(t.app, w, id, 'scope');
  for (const member of panel) ok(await event(member, id, review('met')));
  awardId = ok(await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Met' })).awardId;
  outsider = await createUserWithToken(t.app, w.admin.api, {
    email: 'outsider.appraiser@example.org',
    name: 'Not on this panel',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
  });
});

const problem = (res: { status: number; body: { code?: string } }) => [res.status, res.body.code];

describe('application reads out of scope', () => {
  const paths = () => [
    `/applications/${id}/history`,
    `/applications/${id}/reviews`,
    `/applications/${id}/evidence/archive`,
  ];
  it.each(['leadB', 'applicantB', 'outsider'] as const)(
    '%s gets 404 on history, reviews and the evidence archive',
    async (who) => {
      const api = who === 'outsider' ? outsider.api : w[who].api;
      for (const path of paths()) expect(problem(await api.get(path))).toEqual([404, 'not-found']);
    },
  );
  it('no token gets 401 on each', async () => {
    for (const path of paths())
      expect(problem(await w.anonymous.get(path))).toEqual([401, 'unauthenticated']);
  });
  it('history pages with limit and nextCursor, and refuses a cursor it did not issue', async () => {
    const first = ok(await w.leadA.api.get(`/applications/${id}/history?limit=5`));
    expect(first.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const second = ok(
      await w.leadA.api.get(`/applications/${id}/history?limit=5&cursor=${first.nextCursor}`),
    );
    expect(second.items[0].seq).toBe(6);
    expect(problem(await w.leadA.api.get(`/applications/${id}/history?cursor=garbage`))).toEqual([
      400,
      'validation-failed',
    ]);
    expect(problem(await w.leadA.api.get(`/applications/${id}/history?limit=0`))).toEqual([
      400,
      'validation-failed',
    ]);
  });
});

describe('awards out of scope', () => {
  it('lists are scoped: another area’s lead and another school see none', async () => {
    expect(ok(await w.leadA.api.get('/awards')).items.map((a: { id: string }) => a.id)).toEqual([awardId]);
    expect(ok(await w.leadB.api.get('/awards')).items).toEqual([]);
    expect(ok(await w.applicantB.api.get('/awards')).items).toEqual([]);
    expect(problem(await w.leadA.api.get('/awards?expiringBefore=soon'))).toEqual([400, 'validation-failed']);
  });
  it('the certificate is for the school, its lead and admins only', async () => {
    expect((await w.applicantA.api.get(`/awards/${awardId}/certificate`)).status).toBe(200);
    expect(problem(await w.applicantB.api.get(`/awards/${awardId}/certificate`))).toEqual([404, 'not-found']);
    expect(problem(await w.anonymous.get(`/awards/${awardId}/certificate`))).toEqual([
      401,
      'unauthenticated',
    ]);
  });
  it('a revocation with a stale If-Match answers 412 and changes nothing', async () => {
    const current = await w.admin.api.get(`/awards/${awardId}`);
    const stale = await w.admin.api.post(
      `/awards/${awardId}/events`,
      { type: 'REVOKE', reason: 'x' },
      { 'if-match': 'W/"0"' },
    );
    expect(problem(stale)).toEqual([412, 'version-mismatch']);
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).version).toBe(current.body.version);
  });
});

describe('the national summary', () => {
  it('is for admins: 403 for a school and an appraiser, 401 without a token', async () => {
    expect((await w.admin.api.get('/dashboard')).status).toBe(200);
    expect(problem(await w.applicantA.api.get('/dashboard'))).toEqual([403, 'forbidden']);
    expect(problem(await outsider.api.get('/dashboard'))).toEqual([403, 'forbidden']);
    expect(problem(await w.anonymous.get('/dashboard'))).toEqual([401, 'unauthenticated']);
  });
});

describe('webhooks', () => {
  it('need a token, and are not for schools or appraisers', async () => {
    expect(problem(await w.anonymous.get('/webhooks'))).toEqual([401, 'unauthenticated']);
    for (const api of [w.applicantA.api, outsider.api]) {
      expect(problem(await api.get('/webhooks'))).toEqual([403, 'forbidden']);
      expect(
        problem(await api.post('/webhooks', { url: 'http://127.0.0.1:9/hook', eventTypes: ['*'] })),
      ).toEqual([403, 'forbidden']);
    }
    const bad = await w.admin.api.post('/webhooks', { url: 'ftp://example.org/hook', eventTypes: ['*'] });
    expect(problem(bad)).toEqual([400, 'validation-failed']);
  });
});
