import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, panelOfThree, readyDraft, review } from '../helpers/applications.ts';
import { tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/**
 * SPEC §3: who declared a conflict, or why a member left the panel, is never revealed to the applicant
 * or to fellow panel members, in any view. The panel is A, B, C, D, E; C downloads evidence and
 * declares a conflict; the lead then unassigns D. The school and the remaining
 * panel members never see C or D again, in any view, now or as it stood; a conflict cannot be told from
 * an unassignment. The lead sees who and why.
 */

const { t, w } = useWorld();
let id: string;
let a: Actor; // lived experience; reviews before the conflict
let b: Actor;
let c: Actor; // declares a conflict
let d: Actor; // unassigned by the lead
let e: Actor;
const instants = { forming: '', reviewing: '', afterConflict: '' };

/** An instant after everything so far; the next event is recorded strictly later. */
async function instantNow(): Promise<string> {
  const at = Date.now();
  while (Date.now() <= at) await new Promise((resolve) => setImmediate(resolve));
  return new Date(at).toISOString();
}

beforeAll(async () => {
  [a, b, c] = await panelOfThree(t.app, w, 'privacy');
  d = await createUserWithToken(t.app, w.admin.api, {
    email: 'dee@example.org',
    name: 'Dee Unassigned',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
  });
  e = await createUserWithToken(t.app, w.admin.api, {
    email: 'eve@example.org',
    name: 'Eve Stays',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
  });
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  ok(await event(w.leadA, id, { type: 'ACCEPT' }));
  for (const m of [a, b, c, d, e]) ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: m.id }));
  instants.forming = await instantNow();
  ok(await event(w.leadA, id, { type: 'START_REVIEW' }));
  const [evidence] = ok(await c.api.get(`/applications/${id}/evidence`)).items;
  expect((await c.api.get(`/applications/${id}/evidence/${evidence.id}/content`)).status).toBe(200);
  ok(await event(a, id, review()));
  instants.reviewing = await instantNow();
  ok(await event(c, id, { type: 'DECLARE_CONFLICT', reason: 'My daughter is a pupil there' }));
  instants.afterConflict = await instantNow();
  ok(await event(w.leadA, id, { type: 'UNASSIGN_APPRAISER', userId: d.id }));
});

/** What must never appear in a view for the school or the remaining panel: C's and D's ids and names. */
function expectNoTraceOfLeavers(body: unknown) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  for (const leaver of [c, d]) expect(text).not.toContain(leaver.id);
  expect(text).not.toContain('Panel privacy 3');
  expect(text).not.toContain('Dee Unassigned');
  expect(text).not.toMatch(/daughter/i);
}

const viewers = () => [
  { who: 'the applicant', actor: w.applicantA },
  { who: 'a fellow panel member', actor: b },
];

describe('the application view', () => {
  it('shows the school and the panel only the current panel; the lead the same', async () => {
    for (const { actor } of viewers()) {
      const view = ok(await actor.api.get(`/applications/${id}`));
      expect(view.panel.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id, e.id].sort());
      expectNoTraceOfLeavers(view);
    }
    const lead = ok(await w.leadA.api.get(`/applications/${id}`));
    expect(lead.panel.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id, e.id].sort());
  });
});

describe('?asOf= views rebuilt from history', () => {
  const panelAt = async (actor: Actor, at: string) =>
    ok(await actor.api.get(`/applications/${id}?asOf=${encodeURIComponent(at)}`));

  it('before the conflict: the school and the panel see the historical panel filtered by today’s', async () => {
    for (const { actor } of viewers()) {
      const then = await panelAt(actor, instants.reviewing);
      expect(then.state).toBe('appraisal.reviewing');
      expect(then.panel.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id, e.id].sort());
      expectNoTraceOfLeavers(then);
    }
  });

  it('after the conflict, before the unassignment: the same filter, so nobody can be seen leaving', async () => {
    for (const { actor } of viewers()) {
      const then = await panelAt(actor, instants.afterConflict);
      expect(then.panel.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id, e.id].sort());
      expectNoTraceOfLeavers(then);
    }
  });

  it('while the panel was being formed, the school sees no panel', async () => {
    const forming = await panelAt(w.applicantA, instants.forming);
    expect(forming.state).toBe('appraisal.panelForming');
    expect(forming.panel).toEqual([]);
    const fellow = await panelAt(b, instants.forming);
    expect(fellow.panel.map((m: { userId: string }) => m.userId).sort()).toEqual([a.id, b.id, e.id].sort());
  });

  it('a fellow member’s view of the panel’s progress does not reveal who left', async () => {
    const then = await panelAt(b, instants.reviewing);
    expect(then.panel).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ userId: a.id, reviewed: true }),
        expect.objectContaining({ userId: b.id, reviewed: false }),
        expect.objectContaining({ userId: e.id, reviewed: false }),
      ]),
    );
    expect(then.panel).toHaveLength(3);
  });

  it('the lead sees the panel as it stood, the leavers included', async () => {
    const before = await panelAt(w.leadA, instants.reviewing);
    expect(before.panel.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [a.id, b.id, c.id, d.id, e.id].sort(),
    );
    const after = await panelAt(w.leadA, instants.afterConflict);
    expect(after.panel.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [a.id, b.id, d.id, e.id].sort(),
    );
  });
});

describe('the history', () => {
  const historyOf = async (actor: Actor) => ok(await actor.api.get(`/applications/${id}/history`)).items;

  it('names no leaver and shows every panel change as the same anonymous PANEL_CHANGED', async () => {
    for (const { actor } of viewers()) {
      const items = await historyOf(actor);
      expectNoTraceOfLeavers(items);
      const types = items.map((i: { type: string }) => i.type);
      for (const hidden of ['ASSIGN_APPRAISER', 'UNASSIGN_APPRAISER', 'DECLARE_CONFLICT'])
        expect(types).not.toContain(hidden);
      const changes = items.filter((i: { type: string }) => i.type === 'PANEL_CHANGED');
      // Five assignments, the conflict, the unassignment.
      expect(changes).toHaveLength(7);
      for (const change of changes)
        expect(change).toMatchObject({ actorId: null, actorName: 'A panel member', payload: {} });
      // The conflict and the unassignment read alike: same shape, same transition.
      const [conflict, unassignment] = changes.slice(5, 7);
      const shape = ({ seq: _s, at: _a, ...rest }: Record<string, unknown>) => rest;
      expect(shape(conflict)).toEqual(shape(unassignment));
      // C's download is still in the history, by nobody the viewer can name.
      const download = items.find((i: { type: string }) => i.type === 'EVIDENCE_DOWNLOADED');
      expect(download).toMatchObject({ actorId: null, actorName: 'A panel member' });
    }
  });

  it('a fellow member still sees which current member reviewed; the school does not', async () => {
    const reviewLine = (items: { type: string }[]) => items.find((i) => i.type === 'SUBMIT_REVIEW');
    expect(reviewLine(await historyOf(b))).toMatchObject({ actorId: a.id, payload: {} });
    expect(reviewLine(await historyOf(w.applicantA))).toMatchObject({ actorId: null, payload: {} });
  });

  it('the lead sees who declared the conflict and why, and who was unassigned', async () => {
    const items = await historyOf(w.leadA);
    expect(items.find((i: { type: string }) => i.type === 'DECLARE_CONFLICT')).toMatchObject({
      actorId: c.id,
      payload: { reason: 'My daughter is a pupil there' },
    });
    expect(items.find((i: { type: string }) => i.type === 'UNASSIGN_APPRAISER')).toMatchObject({
      payload: { userId: d.id },
    });
    expect(items.find((i: { type: string }) => i.type === 'EVIDENCE_DOWNLOADED')).toMatchObject({
      actorId: c.id,
    });
  });
});

describe('reviews, notifications and exports', () => {
  // The job worker's pass writes each event's notifications, as it does every few seconds in the server.
  beforeAll(async () => {
    const written = await tick(t.database.db, t.config, new Date());
    expect(written.notifications.notifications).toBeGreaterThan(0);
  });

  it('the reviews endpoint shows another appraiser their own reviews only', async () => {
    const own = ok(await a.api.get(`/applications/${id}/reviews`)).items;
    expect(own.map((r: { appraiserId: string }) => r.appraiserId)).toEqual([a.id]);
    expectNoTraceOfLeavers(own);
    expect(ok(await b.api.get(`/applications/${id}/reviews`)).items).toEqual([]);
    expect((await w.applicantA.api.get(`/applications/${id}/reviews`)).status).toBe(403);
  });

  it('the school and the remaining panel are told nothing of the conflict', async () => {
    for (const actor of [w.applicantA, a, b, e]) {
      const items = ok(await actor.api.get('/me/notifications?limit=100')).items;
      expectNoTraceOfLeavers(items);
      expect(items.map((n: { eventType: string }) => n.eventType)).not.toContain(
        'application.DECLARE_CONFLICT',
      );
    }
  });

  it('the lead is told who declared it (the reason stays in the history)', async () => {
    const items = ok(await w.leadA.api.get('/me/notifications?limit=100')).items;
    const told = items.find((n: { eventType: string }) => n.eventType === 'application.DECLARE_CONFLICT');
    expect(told.text).toContain('Panel privacy 3');
    expect(told.text).not.toMatch(/daughter/);
  });

  it('the CSV export of applications carries nothing of the panel', async () => {
    for (const { actor } of viewers()) {
      const res = await actor.api.get('/applications', { accept: 'text/csv' });
      expect(res.status).toBe(200);
      expect(res.text).toContain(id);
      expectNoTraceOfLeavers(res.text);
    }
  });

  it('the leavers themselves no longer reach the application', async () => {
    for (const leaver of [c, d]) {
      expect((await leaver.api.get(`/applications/${id}`)).status).toBe(404);
      expect((await leaver.api.get(`/applications/${id}/history`)).status).toBe(404);
    }
  });
});
