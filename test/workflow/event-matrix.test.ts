import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, review, SCHOOL_CODES, toReviewing } from '../helpers/applications.ts';
import type { Client } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/**
 * Every event × every role (SPEC §4 "who", SPEC §3 scope). The role check comes before the version
 * check, so a permitted caller sending a stale If-Match gets 412 and changes nothing: each cell
 * proves who may send what without moving the application.
 */

const { t, w } = useWorld();
let id: string;
let panel: Actor[];
let outsideAppraiser: Actor;
beforeAll(async () => {
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  panel = await toReviewing(t.app, w, id, 'matrix');
  outsideAppraiser = await createUserWithToken(t.app, w.admin.api, {
    email: 'not.on.panel@example.org',
    name: 'Not on the panel',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: true, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
  });
});

const soon = new Date(Date.now() + 30 * 86_400_000).toISOString();
const allMet = Object.fromEntries(SCHOOL_CODES.map((c) => [c, { judgement: 'met', feedback: 'Good' }]));

/** A valid body per event, and who may send it according to SPEC §4. */
const EVENTS: [
  type: string,
  body: Record<string, unknown>,
  who: ('applicant' | 'lead' | 'admin' | 'appraiser')[],
][] = [
  ['SUBMIT', {}, ['applicant']],
  ['ACCEPT', {}, ['lead', 'admin']],
  ['RETURN', { reason: 'Incomplete' }, ['lead', 'admin']],
  ['ASSIGN_APPRAISER', { userId: '00000000-0000-4000-8000-000000000001' }, ['lead', 'admin']],
  ['UNASSIGN_APPRAISER', { userId: '00000000-0000-4000-8000-000000000001' }, ['lead', 'admin']],
  ['START_REVIEW', {}, ['lead', 'admin']],
  ['SUBMIT_REVIEW', { criteria: review().criteria, summary: 'x' }, ['appraiser']],
  ['DECLARE_CONFLICT', { reason: 'Related' }, ['appraiser']],
  ['SEND_FEEDBACK', { criteria: allMet, questions: [] }, ['lead', 'admin']],
  ['RESPOND', { answers: [] }, ['applicant']],
  ['SCHEDULE_MEETING', { at: soon, mode: 'online' }, ['lead', 'admin']],
  ['RECORD_MEETING', { heldAt: new Date().toISOString(), notes: 'Held' }, ['lead', 'admin']],
  ['DECIDE', { outcome: 'award', rationale: 'Met' }, ['lead', 'admin']],
  ['RESUBMIT', {}, ['applicant']],
  ['EXTEND_DEADLINE', { dueBy: soon }, ['lead', 'admin']],
  ['LAPSE', {}, []],
  ['WITHDRAW', { reason: 'Changed plans' }, ['applicant', 'lead', 'admin']],
];

type Caller = {
  name: string;
  client: () => Client;
  relation: 'applicant' | 'lead' | 'admin' | 'appraiser' | 'outside' | 'nobody';
};
const CALLERS: Caller[] = [
  { name: 'admin', client: () => w.admin.api, relation: 'admin' },
  { name: 'lead of the area', client: () => w.leadA.api, relation: 'lead' },
  { name: 'lead of another area', client: () => w.leadB.api, relation: 'outside' },
  { name: 'appraiser on the panel', client: () => panel[1].api, relation: 'appraiser' },
  { name: 'appraiser not on the panel', client: () => outsideAppraiser.api, relation: 'outside' },
  { name: 'applicant member', client: () => w.applicantA.api, relation: 'applicant' },
  { name: 'applicant of another organisation', client: () => w.applicantB.api, relation: 'outside' },
  { name: 'no token', client: () => w.anonymous, relation: 'nobody' },
];

const cells = EVENTS.flatMap(([type, body, who]) =>
  CALLERS.map((caller) => {
    const expected =
      caller.relation === 'nobody'
        ? 401
        : caller.relation === 'outside'
          ? 404
          : who.includes(caller.relation)
            ? 412
            : 403;
    return { type, body, caller, expected };
  }),
);

describe('application events × roles', () => {
  it.each(cells.map((c) => [`${c.type} by ${c.caller.name} → ${c.expected}`, c] as const))(
    '%s',
    async (_name, cell) => {
      const before = ok(await w.admin.api.get(`/applications/${id}`));
      const res = await cell.caller
        .client()
        .post(`/applications/${id}/events`, { type: cell.type, ...cell.body }, { 'if-match': 'W/"999"' });
      expect(res.status).toBe(cell.expected);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      const code = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not-found', 412: 'version-mismatch' }[
        cell.expected
      ];
      expect(res.body.code).toBe(code);
      const after = ok(await w.admin.api.get(`/applications/${id}`));
      expect(after.version).toBe(before.version);
      expect(after.state).toBe('appraisal.reviewing');
    },
  );
});

describe('award events × roles', () => {
  let awardId: string;
  beforeAll(async () => {
    for (const member of panel) ok(await event(member, id, review('met')));
    const awarded = ok(
      await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }),
    );
    awardId = awarded.awardId;
  });

  it.each([
    ['lead of the area', 403],
    ['applicant member', 403],
    ['lead of another area', 404],
    ['applicant of another organisation', 404],
    ['appraiser on the panel', 404],
    ['no token', 401],
  ] as const)('REVOKE by %s → %i', async (name, status) => {
    const caller = CALLERS.find((c) => c.name === name) as Caller;
    const res = await caller.client().post(`/awards/${awardId}/events`, { type: 'REVOKE', reason: 'Test' });
    expect(res.status).toBe(status);
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).state).toBe('active');
  });

  it('only system timers move an award otherwise; an admin revokes it and it leaves the register', async () => {
    const bogus = await w.admin.api.post(`/awards/${awardId}/events`, { type: 'EXPIRE' });
    expect(bogus.status).toBe(400);
    const emptyReason = await w.admin.api.post(`/awards/${awardId}/events`, { type: 'REVOKE', reason: '' });
    expect(emptyReason.status).toBe(422);
    expect(emptyReason.body.code).toBe('guard-failed');
    const revoked = ok(
      await w.admin.api.post(`/awards/${awardId}/events`, { type: 'REVOKE', reason: 'Pledge withdrawn' }),
    );
    expect(revoked.state).toBe('revoked');
    expect(revoked.current).toBe(false);
    const register = ok(await w.anonymous.get('/register'));
    expect(register.items.map((r: { awardId: string }) => r.awardId)).not.toContain(awardId);
    const again = await w.admin.api.post(`/awards/${awardId}/events`, { type: 'REVOKE', reason: 'Twice' });
    expect(again.status).toBe(409);
  });
});
