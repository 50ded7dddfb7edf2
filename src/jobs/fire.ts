import type { Db, Trx } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';
import { applicationWorkflow } from '../workflow/applications.ts';
import { awardWorkflow } from '../workflow/awards.ts';
import { runTransition } from '../workflow/runner.ts';
import { type TimerEntity, timerStillApplies } from './timers.ts';

/**
 * Sends one timer's event through the one transition path as actor `system`, at the instant `now`
 * (the real time, or the tick's --now). A timer whose event no longer applies is a no-op.
 */
export async function fireTimerEvent(
  trx: Trx,
  timer: { entity: TimerEntity; entity_id: string; event_type: string; due_at: Date },
  now: Date,
): Promise<{ fired: boolean; detail: string }> {
  const def = (timer.entity === 'application' ? applicationWorkflow : awardWorkflow) as typeof awardWorkflow;
  const loaded = await def.lock(trx, timer.entity_id, 'system');
  const stale = timerStillApplies(timer.entity, loaded.row.snapshot, timer.event_type, timer.due_at);
  if (stale) return { fired: false, detail: stale };
  try {
    const result = await runTransition(def, trx, {
      id: timer.entity_id,
      event: { type: timer.event_type },
      actor: 'system',
      now,
    });
    return { fired: true, detail: `${timer.entity} version ${result.version}` };
  } catch (err) {
    // Guards refuse before anything is written, so the transaction is still good: record and move on.
    if (err instanceof DomainError) return { fired: false, detail: err.message };
    throw err;
  }
}

type TimerRow = {
  id: string;
  entity: TimerEntity;
  entity_id: string;
  event_type: string;
  due_at: Date;
  attempts: number;
};

export type TimerSummary = { fired: number; skipped: number; failed: number };

const MAX_ATTEMPTS = 5;

/**
 * Fires every pending timer due by `now`, each in its own transaction: claim the row (SKIP LOCKED, so
 * concurrent workers split the work and none fires a timer twice), check it is still wanted, run its
 * event through the one transition path, mark it. Timers made due by a fired one (e.g. EXPIRE after
 * RENEWAL_DUE) are fired in the same run.
 */
export async function runDueTimers(
  db: Db,
  now: Date,
  log?: (msg: string, data: object) => void,
): Promise<TimerSummary> {
  const summary: TimerSummary = { fired: 0, skipped: 0, failed: 0 };
  const failedThisRun: string[] = [];
  for (;;) {
    let claimed: { timer: TimerRow; fired: boolean; detail: string } | undefined;
    let firing: TimerRow | undefined;
    try {
      claimed = await db.transaction().execute(async (trx) => {
        let q = trx
          .selectFrom('timers')
          .select(['id', 'entity', 'entity_id', 'event_type', 'due_at', 'attempts'])
          .where('status', '=', 'pending')
          .where('due_at', '<=', now)
          .orderBy('due_at')
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .skipLocked();
        if (failedThisRun.length) q = q.where('id', 'not in', failedThisRun);
        const timer = (await q.executeTakeFirst()) as TimerRow | undefined;
        if (!timer) return undefined;
        firing = timer;
        const outcome = await fireTimerEvent(trx, timer, now);
        await trx
          .updateTable('timers')
          .set({
            status: outcome.fired ? 'fired' : 'skipped',
            outcome: outcome.detail,
            finished_at: now,
            attempts: timer.attempts + 1,
          })
          .where('id', '=', timer.id)
          .execute();
        return { timer, ...outcome };
      });
    } catch (err) {
      const failed = firing as TimerRow | undefined;
      if (!failed) throw err;
      // The transaction rolled back: the timer is pending again. Count the attempt; give up after a few.
      failedThisRun.push(failed.id);
      summary.failed++;
      const attempts = failed.attempts + 1;
      const message = String((err as Error)?.message ?? err).slice(0, 500);
      await db
        .updateTable('timers')
        .set({
          attempts,
          outcome: message,
          ...(attempts >= MAX_ATTEMPTS ? { status: 'failed' as const, finished_at: now } : {}),
        })
        .where('id', '=', failed.id)
        .where('status', '=', 'pending')
        .execute();
      log?.('timer failed', { timerId: failed.id, event: failed.event_type, attempts, error: message });
      continue;
    }
    if (!claimed) return summary;
    if (claimed.fired) summary.fired++;
    else summary.skipped++;
    const { timer } = claimed;
    log?.(claimed.fired ? 'timer fired' : 'timer skipped', {
      timerId: timer.id,
      entity: timer.entity,
      entityId: timer.entity_id,
      event: timer.event_type,
      detail: claimed.detail,
    });
  }
}
