import { describe, expect, it } from '@jest/globals';
import { type ApplicationRow, selectApplications } from '../../src/applications/repository.ts';
import { createDatabase } from '../../src/db/index.ts';
import { runDueTimers } from '../../src/jobs/fire.ts';
import { startApplication } from '../../src/workflow/applications.ts';
import { startAward } from '../../src/workflow/awards.ts';
import { event, ok, uploadEvidence } from '../helpers/applications.ts';
import { onRealPostgres } from '../helpers/database.ts';
import { awardedApplication, furtherEvidenceRequested, shift, tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';

const { t, w } = useWorld({ ALLOW_CLOCK_OVERRIDE: '1' });

const timersOf = (entityId: string) =>
  t.database.db
    .selectFrom('timers')
    .select(['event_type', 'due_at', 'status'])
    .where('entity_id', '=', entityId)
    .orderBy('created_at')
    .orderBy('due_at')
    .execute();
const historyTypes = async (awardId: string) =>
  await t.database.db
    .selectFrom('award_events')
    .select(['type', 'actor_id'])
    .where('award_id', '=', awardId)
    .orderBy('id')
    .execute();

describe('further-evidence deadlines', () => {
  it('EXTEND_DEADLINE moves the LAPSE timer; the application lapses only after the new dueBy', async () => {
    const firstDue = shift(new Date().toISOString(), 30).toISOString();
    const { applicationId } = await furtherEvidenceRequested(t.app, w, 'lapse', firstDue);
    expect((await timersOf(applicationId)).map((x) => [x.event_type, x.status])).toEqual([
      ['LAPSE', 'pending'],
    ]);

    const newDue = shift(firstDue, 20).toISOString();
    ok(await event(w.leadA, applicationId, { type: 'EXTEND_DEADLINE', dueBy: newDue }));
    const timers = await timersOf(applicationId);
    expect(timers.map((x) => [x.event_type, new Date(x.due_at).toISOString(), x.status])).toEqual([
      ['LAPSE', firstDue, 'cancelled'],
      ['LAPSE', newDue, 'pending'],
    ]);

    const atOldDue = await tick(t.database.db, t.config, shift(firstDue, 1));
    expect(atOldDue.timers).toEqual({ fired: 0, skipped: 0, failed: 0 });
    expect(ok(await w.leadA.api.get(`/applications/${applicationId}`)).state).toBe(
      'furtherEvidenceRequested',
    );

    const afterNewDue = shift(newDue, 0.01);
    expect((await tick(t.database.db, t.config, afterNewDue)).timers.fired).toBe(1);
    const lapsed = ok(await w.leadA.api.get(`/applications/${applicationId}`));
    expect(lapsed.state).toBe('lapsed');
    const history = ok(await w.leadA.api.get(`/applications/${applicationId}/history`)).items;
    const lapse = history.find((e: { type: string }) => e.type === 'LAPSE');
    expect(lapse).toMatchObject({ actorId: null, from: 'furtherEvidenceRequested', to: 'lapsed' });
    // The same instant again changes nothing more.
    expect((await tick(t.database.db, t.config, afterNewDue)).timers).toEqual({
      fired: 0,
      skipped: 0,
      failed: 0,
    });
    expect(ok(await w.leadA.api.get(`/applications/${applicationId}`)).version).toBe(lapsed.version);
  });

  it('resubmitting in time cancels the LAPSE timer', async () => {
    const due = shift(new Date().toISOString(), 10).toISOString();
    const { applicationId } = await furtherEvidenceRequested(t.app, w, 'resubmit', due);
    expect(
      (await uploadEvidence(t.app, w.applicantA, applicationId, ['E2'], `minutes-${applicationId}`)).status,
    ).toBe(201);
    ok(await event(w.applicantA, applicationId, { type: 'RESUBMIT' }));
    expect((await timersOf(applicationId)).map((x) => x.status)).toEqual(['cancelled']);
    expect((await tick(t.database.db, t.config, shift(due, 1))).timers.fired).toBe(0);
    ok(await event(w.applicantA, applicationId, { type: 'WITHDRAW', reason: 'Done with this test' }));
  });
});

describe('the award cycle runs by itself', () => {
  let awardId: string;
  let expiresAt: string;

  it('an award schedules RENEWAL_DUE at expiry − 90 days and EXPIRE at expiry', async () => {
    ({ awardId } = await awardedApplication(t.app, w, 'award-cycle'));
    const award = ok(await w.applicantA.api.get(`/awards/${awardId}`));
    expiresAt = award.expiresAt;
    const timers = await timersOf(awardId);
    expect(timers.map((x) => [x.event_type, new Date(x.due_at).toISOString(), x.status])).toEqual([
      ['RENEWAL_DUE', shift(expiresAt, -90).toISOString(), 'pending'],
      ['EXPIRE', expiresAt, 'pending'],
    ]);
  });

  it('nothing fires early; at expiry − 90 days the award becomes renewalDue, as the system, once', async () => {
    expect((await tick(t.database.db, t.config, shift(expiresAt, -91))).timers.fired).toBe(0);
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).state).toBe('active');

    const at = shift(expiresAt, -89.9);
    expect((await tick(t.database.db, t.config, at)).timers).toEqual({ fired: 1, skipped: 0, failed: 0 });
    const award = ok(await w.admin.api.get(`/awards/${awardId}`));
    expect(award.state).toBe('renewalDue');
    expect(award.current).toBe(true);
    expect(await tick(t.database.db, t.config, at)).toMatchObject({
      timers: { fired: 0, skipped: 0, failed: 0 },
    });
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).version).toBe(award.version);
    expect((await historyTypes(awardId)).filter((e) => e.type === 'RENEWAL_DUE')).toEqual([
      { type: 'RENEWAL_DUE', actor_id: null },
    ]);
  });

  it('a renewal moves EXPIRE to expiry + grace: the award stays on the register past its expiry', async () => {
    ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA, kind: 'renewal' }), 201);
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).state).toBe('renewing');
    const pending = (await timersOf(awardId)).filter((x) => x.status === 'pending');
    expect(pending.map((x) => [x.event_type, new Date(x.due_at).toISOString()])).toEqual([
      ['EXPIRE', shift(expiresAt, 180).toISOString()],
    ]);

    expect((await tick(t.database.db, t.config, shift(expiresAt, 1))).timers.fired).toBe(0);
    expect(ok(await w.admin.api.get(`/awards/${awardId}`)).state).toBe('renewing');
    const register = ok(await w.anonymous.get('/register')).items.map((r: { awardId: string }) => r.awardId);
    expect(register).toContain(awardId);
  });

  it('after the grace the award expires and leaves the register', async () => {
    expect((await tick(t.database.db, t.config, shift(expiresAt, 181))).timers.fired).toBe(1);
    const award = ok(await w.admin.api.get(`/awards/${awardId}`));
    expect(award.state).toBe('expired');
    expect(award.current).toBe(false);
    const register = ok(await w.anonymous.get('/register')).items.map((r: { awardId: string }) => r.awardId);
    expect(register).not.toContain(awardId);
    expect((await historyTypes(awardId)).map((e) => e.type)).toEqual([
      'AWARDED',
      'RENEWAL_DUE',
      'RENEWAL_STARTED',
      'EXPIRE',
    ]);
    expect((await timersOf(awardId)).filter((x) => x.status === 'pending')).toEqual([]);
  });
});

describe('several workers on one database', () => {
  it('two workers running at once fire each timer once', async () => {
    // Ten awards made directly (the timer machinery is what is under test), twenty timers due.
    const db = t.database.db;
    const now = new Date();
    const awardIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      awardIds.push(
        await db.transaction().execute(async (trx) => {
          const org = await trx
            .insertInto('organisations')
            .values({ name: `Parallel School ${i}`, stream_id: w.schoolsStreamId, area_id: w.areaA })
            .returning('id')
            .executeTakeFirstOrThrow();
          const { id } = await startApplication(trx, {
            organisationId: org.id,
            streamId: w.schoolsStreamId,
            kind: 'initial',
            createdBy: null,
          });
          const application = (await selectApplications(trx)
            .where('applications.id', '=', id)
            .executeTakeFirstOrThrow()) as ApplicationRow;
          return startAward(trx, { application, now });
        }),
      );
    }
    const later = shift(now.toISOString(), 4 * 366);
    // On Postgres the second worker has its own connection pool, as another instance would.
    const other = onRealPostgres()
      ? createDatabase({ databaseUrl: t.config.databaseUrl, poolSize: 4 })
      : null;
    try {
      const [a, b] = await Promise.all([runDueTimers(db, later), runDueTimers(other?.db ?? db, later)]);
      expect(a.failed + b.failed).toBe(0);
      expect(a.fired + b.fired + a.skipped + b.skipped).toBe(20);
    } finally {
      await other?.close();
    }
    const events = await db
      .selectFrom('award_events')
      .select(['award_id', 'type'])
      .where('award_id', 'in', awardIds)
      .execute();
    for (const id of awardIds) {
      const types = events.filter((e) => e.award_id === id).map((e) => e.type);
      expect(types.filter((x) => x === 'EXPIRE')).toHaveLength(1);
      expect(types.filter((x) => x === 'RENEWAL_DUE').length).toBeLessThanOrEqual(1);
    }
    const states = await db.selectFrom('awards').select('state').where('id', 'in', awardIds).execute();
    expect(new Set(states.map((s) => s.state))).toEqual(new Set(['expired']));
    const pending = await db
      .selectFrom('timers')
      .select('id')
      .where('entity_id', 'in', awardIds)
      .where('status', '=', 'pending')
      .execute();
    expect(pending).toEqual([]);
  });
});
