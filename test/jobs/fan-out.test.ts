import { describe, expect, it } from '@jest/globals';
import { fanOutNotifications } from '../../src/notifications/fan-out.ts';
import { pageLinks } from '../../src/notifications/links.ts';
import { event, ok, readyDraft, toReviewing } from '../helpers/applications.ts';
import { tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';

const { t, w } = useWorld();

/** The events of an application still waiting for the worker's pass. */
const waiting = (id: string) =>
  t.database.db
    .selectFrom('notification_events')
    .select('event_type')
    .where('entity_id', '=', id)
    .orderBy('id')
    .execute();
/** The notifications written about an application: whom, and of what. */
const written = (id: string) =>
  t.database.db
    .selectFrom('notifications')
    .select(['user_id', 'event_type'])
    .where('entity_id', '=', id)
    .execute();

describe('a transition tells people through one outbox row, fanned out by the job worker', () => {
  let id: string;

  it('a transition leaves one notification event, not a row per person; the pass writes each once', async () => {
    id = await readyDraft(t.app, w);
    ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
    expect(await waiting(id)).toEqual([{ event_type: 'SUBMIT' }]);
    expect(await written(id)).toEqual([]);

    const pass = await tick(t.database.db, t.config, new Date());
    expect(pass.notifications.events).toBe(1);
    const rows = await written(id);
    const told = rows.map((r) => r.user_id);
    expect(told).toContain(w.leadA.id);
    // Nobody is told of their own act, and nobody twice.
    expect(told).not.toContain(w.applicantA.id);
    expect(new Set(told).size).toBe(told.length);
    expect(pass.notifications.notifications).toBe(rows.length);
    expect(await waiting(id)).toEqual([]);

    const again = await tick(t.database.db, t.config, new Date());
    expect(again.notifications).toEqual({ events: 0, notifications: 0 });
    expect(await written(id)).toHaveLength(rows.length);
  });

  it('an event that is refused leaves no notification event', async () => {
    const res = await event(w.applicantA, id, { type: 'SUBMIT' });
    expect(res.status).toBe(409);
    const stale = await event(w.leadA, id, { type: 'ACCEPT' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(await waiting(id)).toEqual([]);
  });

  it('two workers at once write each notification exactly once', async () => {
    const panel = await toReviewing(t.app, w, id, 'fan-out');
    // ACCEPT, three ASSIGN_APPRAISER and START_REVIEW wait for the pass.
    expect((await waiting(id)).map((e) => e.event_type)).toEqual([
      'ACCEPT',
      'ASSIGN_APPRAISER',
      'ASSIGN_APPRAISER',
      'ASSIGN_APPRAISER',
      'START_REVIEW',
    ]);
    const before = (await written(id)).length;
    const links = pageLinks('http://awards.test');
    const [one, two] = await Promise.all([
      fanOutNotifications(t.database.db, links, 1),
      fanOutNotifications(t.database.db, links, 1),
    ]);
    expect(one.events + two.events).toBe(5);
    const rows = (await written(id)).slice(before);
    expect(rows).toHaveLength(one.notifications + two.notifications);
    const pairs = rows.map((r) => `${r.user_id} ${r.event_type}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    // Each appraiser heard of their assignment and of the reviews opening.
    for (const member of panel) {
      expect(
        rows
          .filter((r) => r.user_id === member.id)
          .map((r) => r.event_type)
          .sort(),
      ).toEqual(['application.ASSIGN_APPRAISER', 'application.START_REVIEW']);
    }
    expect(await waiting(id)).toEqual([]);
  });
});
