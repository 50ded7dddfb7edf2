import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, review, toReviewing } from '../helpers/applications.ts';
import { onRealPostgres } from '../helpers/database.ts';
import { useWorld } from '../helpers/setup.ts';
import { createUserWithToken } from '../helpers/world.ts';

const { t, w } = useWorld();

async function submitted(): Promise<string> {
  // One open application per organisation: withdraw whatever the last test left open.
  const open = ok(await w.leadA.api.get(`/applications?organisationId=${w.orgA}`)).items.filter(
    (a: { status: string }) => !['awarded', 'notAwarded', 'withdrawn', 'lapsed'].includes(a.status),
  );
  for (const a of open) ok(await event(w.leadA, a.id, { type: 'WITHDRAW', reason: 'test reset' }));
  const id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  return id;
}

describe('who may send which event', () => {
  let id: string;
  beforeAll(async () => {
    id = await submitted();
  });

  it.each([
    ['applicantA', 403],
    ['appraiserA', 404],
    ['leadB', 404],
    ['applicantB', 404],
  ] as const)('ACCEPT by %s → %i', async (who, status) => {
    const res = await event(w[who], id, { type: 'ACCEPT' });
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe(status === 403 ? 'forbidden' : 'not-found');
  });

  it('no token → 401', async () => {
    expect((await w.anonymous.post(`/applications/${id}/events`, { type: 'ACCEPT' })).status).toBe(401);
  });

  it('LAPSE is the system’s alone, even for an admin', async () => {
    const res = await event(w.admin, id, { type: 'LAPSE' });
    expect(res.status).toBe(403);
  });

  it('an event the state does not accept → 409 naming the state and what is allowed', async () => {
    const res = await event(w.leadA, id, { type: 'START_REVIEW' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('illegal-transition');
    expect(res.body.state).toBe('submitted');
    expect(res.body.allowedEvents).toEqual(expect.arrayContaining(['ACCEPT', 'RETURN', 'WITHDRAW']));
  });

  it('a stale If-Match → 412 and nothing changes; the right one applies', async () => {
    const current = await w.leadA.api.get(`/applications/${id}`);
    const etag = current.headers.etag as string;
    expect(etag).toMatch(new RegExp(`^W/"${current.body.version}-[A-Za-z0-9_-]+"$`));
    const stale = await event(
      w.leadA,
      id,
      { type: 'ACCEPT' },
      { 'if-match': `W/"${current.body.version - 1}"` },
    );
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('version-mismatch');
    expect(ok(await w.leadA.api.get(`/applications/${id}`)).state).toBe('submitted');
    const bad = await event(w.leadA, id, { type: 'ACCEPT' }, { 'if-match': 'yesterday' });
    expect(bad.status).toBe(400);
    const applied = await event(w.leadA, id, { type: 'ACCEPT' }, { 'if-match': etag });
    expect(applied.status).toBe(200);
    expect(applied.headers.etag).toMatch(new RegExp(`^W/"${current.body.version + 1}-[A-Za-z0-9_-]+"$`));
  });

  it('bad event bodies → 400 validation-failed', async () => {
    for (const body of [
      {},
      { type: 'FLY' },
      { type: 'RETURN' },
      { type: 'ACCEPT', extra: 1 },
      { type: 'ASSIGN_APPRAISER', userId: 'nope' },
    ]) {
      const res = await event(w.leadA, id, body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
  });
});

describe('panel guards', () => {
  let id: string;
  beforeAll(async () => {
    id = await submitted();
    ok(await event(w.leadA, id, { type: 'ACCEPT' }));
  });

  it('refuses a member of the organisation, a non-appraiser and a duplicate', async () => {
    const member = await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: w.applicantA.id });
    expect(member.status).toBe(422);
    expect(member.body.blockers.join(' ')).toMatch(/appraiser/i);
    ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: w.appraiserA.id }));
    const again = await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: w.appraiserA.id });
    expect(again.status).toBe(422);
  });

  it('refuses someone who declared a conflict with the organisation, and a panel without lived experience', async () => {
    const conflicted = await createUserWithToken(t.app, w.admin.api, {
      email: 'conflicted@example.org',
      name: 'Conflicted',
      grants: [{ role: 'appraiser' }],
      appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
    });
    await t.database.db
      .insertInto('conflicts')
      .values({ user_id: conflicted.id, organisation_id: w.orgA, reason: 'Governor there' })
      .execute();
    const res = await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: conflicted.id });
    expect(res.status).toBe(422);
    expect(res.body.blockers.join(' ')).toMatch(/conflict/i);
  });
});

describe('reviewing', () => {
  it('an appraiser not on the panel cannot see or review; one who declares a conflict leaves the panel', async () => {
    const id = await submitted();
    const panel = await toReviewing(t.app, w, id, 'reviewing');
    const outsider = await createUserWithToken(t.app, w.admin.api, {
      email: 'outsider@example.org',
      name: 'Outsider',
      grants: [{ role: 'appraiser' }],
      appraiserProfile: { livedExperience: true, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
    });
    expect((await outsider.api.get(`/applications/${id}`)).status).toBe(404);
    expect((await event(outsider, id, review())).status).toBe(404);
    const incomplete = await event(panel[0], id, {
      type: 'SUBMIT_REVIEW',
      criteria: { L1: { judgement: 'met', comment: '' } },
      summary: 'x',
    });
    expect(incomplete.status).toBe(422);
    const left = await event(panel[2], id, { type: 'DECLARE_CONFLICT', reason: 'My niece is a pupil there' });
    expect(left.status).toBe(200);
    expect(left.body.state).toBe('appraisal.panelForming');
    expect((await panel[2].api.get(`/applications/${id}`)).status).toBe(404);
    const again = await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: panel[2].id });
    expect(again.status).toBe(422);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response and does nothing twice; another body with the key → 422', async () => {
    const id = await submitted();
    const headers = { 'idempotency-key': `accept-${id}` };
    const first = await event(w.leadA, id, { type: 'ACCEPT' }, headers);
    expect(first.status).toBe(200);
    const replay = await event(w.leadA, id, { type: 'ACCEPT' }, headers);
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const history = ok(await w.leadA.api.get(`/applications/${id}/history`));
    expect(history.items.filter((e: { type: string }) => e.type === 'ACCEPT')).toHaveLength(1);
    const other = await event(w.leadA, id, { type: 'RETURN', reason: 'x' }, headers);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency-key-reused');
  });
});

describe('50 concurrent clients send the same event', () => {
  (onRealPostgres() ? it : it.skip)(
    'exactly one applies; the rest answer 409 or 412; the history holds one event',
    async () => {
      const id = await submitted();
      const version = ok(await w.leadA.api.get(`/applications/${id}`)).version;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          event(w.leadA, id, { type: 'ACCEPT' }, i % 2 ? { 'if-match': `W/"${version}"` } : {}),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.every((s) => s === 200 || s === 409 || s === 412)).toBe(true);
      const history = ok(await w.leadA.api.get(`/applications/${id}/history`));
      expect(history.items.filter((e: { type: string }) => e.type === 'ACCEPT')).toHaveLength(1);
      expect(ok(await w.leadA.api.get(`/applications/${id}`)).version).toBe(version + 1);
    },
  );
});

describe('events decided on a state another event changed meanwhile (saved without the row lock)', () => {
  (onRealPostgres() ? it : it.skip)(
    'two appraisers send their reviews at the same instant: both are recorded, one after the other',
    async () => {
      const id = await submitted();
      const [a, b, c] = await toReviewing(t.app, w, id, 'same-instant');
      const before = ok(await w.leadA.api.get(`/applications/${id}`)).version;
      const sent = await Promise.all([event(a, id, review('met')), event(b, id, review('not_yet'))]);
      expect(sent.map((r) => r.status)).toEqual([200, 200]);
      // Each answer is the state after its own event: the second was decided on the first's.
      expect(sent.map((r) => r.body.version).sort()).toEqual([before + 1, before + 2]);
      const lines = ok(await w.leadA.api.get(`/applications/${id}/history`)).items.filter(
        (e: { type: string }) => e.type === 'SUBMIT_REVIEW',
      );
      expect(lines).toHaveLength(2);
      // Exactly one notification event per saved transition, none for a lost try.
      const notices = await t.database.db
        .selectFrom('notification_events')
        .select('event_type')
        .where('entity_id', '=', id)
        .where('event_type', '=', 'SUBMIT_REVIEW')
        .execute();
      expect(notices).toHaveLength(2);
      const reviews = ok(await w.leadA.api.get(`/applications/${id}/reviews`)).items;
      expect(reviews.map((r: { appraiserId: string }) => r.appraiserId).sort()).toEqual([a.id, b.id].sort());
      // The third appraiser's review, sent with the version read before the other two: 412, nothing kept.
      const stale = await event(c, id, review('met'), { 'if-match': `W/"${before}"` });
      expect(stale.status).toBe(412);
      expect(ok(await w.leadA.api.get(`/applications/${id}`)).version).toBe(before + 2);
    },
  );

  (onRealPostgres() ? it : it.skip)(
    '50 clients send the same review at once: one applies, the rest are refused as already sent, the history holds one',
    async () => {
      const id = await submitted();
      const [a] = await toReviewing(t.app, w, id, 'fifty-reviews');
      const before = ok(await w.leadA.api.get(`/applications/${id}`)).version;
      const results = await Promise.all(Array.from({ length: 50 }, () => event(a, id, review('met'))));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      // The others are decided again on the saved review: the appraiser has already sent this round's.
      const refused = results.filter((r) => r.status !== 200);
      expect(new Set(refused.map((r) => `${r.status} ${r.body.code}`))).toEqual(
        new Set(['422 guard-failed']),
      );
      const lines = ok(await w.leadA.api.get(`/applications/${id}/history`)).items.filter(
        (e: { type: string }) => e.type === 'SUBMIT_REVIEW',
      );
      expect(lines).toHaveLength(1);
      expect(ok(await w.leadA.api.get(`/applications/${id}`)).version).toBe(before + 1);
    },
  );
});
