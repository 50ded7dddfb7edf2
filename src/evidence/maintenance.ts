import { APPLICATION_FINAL_STATES } from '../../workflows/index.ts';
import { appendApplicationHistory } from '../applications/history.ts';
import type { Db } from '../db/index.ts';
import type { EvidenceStore } from '../storage/store.ts';
import { previewKeyOf } from './previews.ts';
import {
  heldStorageKeys,
  lockApplicationRow,
  markFilesRemovedByRetention,
  retentionCandidates,
} from './repository.ts';

/** The final application states (workflows/application.ts): nothing more can be added or decided. */

type Log = {
  info: (details: object, message: string) => void;
  warn: (details: object, message: string) => void;
};

export type RetentionCandidate = {
  applicationId: string;
  state: string;
  closedAt: string;
  evidenceId: string;
  filename: string;
  size: number;
};

export type RetentionReport = {
  dryRun: boolean;
  /** Applications closed at or before this instant have their evidence files removed. */
  closedBefore: string;
  retentionDays: number;
  files: RetentionCandidate[];
  bytes: number;
};

/**
 * Removes the evidence files of applications closed longer than `retentionDays` ago (SPEC §3: default
 * three years after the decision). The rows stay, marked `file_removed_reason = 'retention'`, and the
 * application history records it. A closed application's "decision" is the event that closed it
 * (DECIDE, WITHDRAW or LAPSE). `dryRun` only lists. Safe to run from several places at once: each
 * application is handled in its own transaction with its row locked. For the CLI and the timers.
 */
export async function runEvidenceRetention(
  deps: { db: Db; store: EvidenceStore; log?: Log },
  options: { retentionDays: number; now?: Date; dryRun?: boolean },
): Promise<RetentionReport> {
  const { db, store, log } = deps;
  const now = options.now ?? new Date();
  const closedBefore = new Date(now.getTime() - options.retentionDays * 24 * 60 * 60 * 1000);
  const rows = await retentionCandidates(db, APPLICATION_FINAL_STATES, closedBefore);
  const files = rows.map((r) => ({
    applicationId: r.application_id,
    state: r.state,
    closedAt: new Date(r.closed_at).toISOString(),
    evidenceId: r.evidence_id,
    filename: r.filename,
    size: Number(r.size),
  }));
  const report: RetentionReport = {
    dryRun: Boolean(options.dryRun),
    closedBefore: closedBefore.toISOString(),
    retentionDays: options.retentionDays,
    files,
    bytes: files.reduce((n, f) => n + f.size, 0),
  };
  if (options.dryRun) return report;

  const byApplication = new Map<string, RetentionCandidate[]>();
  for (const f of files)
    byApplication.set(f.applicationId, [...(byApplication.get(f.applicationId) ?? []), f]);
  for (const [applicationId, candidates] of byApplication) {
    const keys = await db.transaction().execute(async (trx) => {
      await lockApplicationRow(trx, applicationId);
      const marked = await markFilesRemovedByRetention(
        trx,
        applicationId,
        candidates.map((c) => c.evidenceId),
      );
      if (marked.length === 0) return [];
      await appendApplicationHistory(trx, {
        applicationId,
        type: 'EVIDENCE_REMOVED_BY_RETENTION',
        actorId: null,
        from: null,
        to: null,
        payload: {
          retentionDays: options.retentionDays,
          closedAt: candidates[0]?.closedAt,
          files: marked.map((m) => ({ evidenceId: m.id, filename: m.filename })),
        },
      });
      return marked.flatMap((m) =>
        m.has_preview ? [m.storage_key, previewKeyOf(m.storage_key)] : [m.storage_key],
      );
    });
    // After the commit: a failed removal leaves an orphan that the sweep removes, never a row without bytes.
    for (const key of keys) {
      await store.remove(key).catch((err) => log?.warn({ err, key }, 'could not remove an evidence file'));
    }
  }
  log?.info({ files: files.length, bytes: report.bytes }, 'evidence retention removed files');
  return report;
}

/**
 * Removes stored objects that no live evidence row holds (a crash between storing and the row's
 * commit, or a removal that failed after its row was marked). Young objects are kept: their upload
 * may still be committing.
 */
export async function sweepEvidenceOrphans(
  deps: { db: Db; store: EvidenceStore },
  options: { olderThanMs?: number } = {},
): Promise<number> {
  const { db, store } = deps;
  return store.sweepOrphans((keys) => heldStorageKeys(db, keys), options);
}

/**
 * Sweeps orphans once now and then every `intervalMs` (0: only now), in the background; returns a
 * function that stops it. Failures are logged, never thrown: the sweep is housekeeping.
 */
export function scheduleOrphanSweeps(
  deps: { db: Db; store: EvidenceStore; log: Log },
  intervalMs: number,
): () => void {
  return inBackground(() => sweepEvidenceOrphans(deps), intervalMs, deps.log, {
    done: 'removed orphaned evidence objects',
    failed: 'evidence orphan sweep failed',
  });
}

/** Removes expired unfinished resumable uploads once now and then every `intervalMs`, like the sweep. */
export function scheduleUploadExpiry(
  deps: { removeExpired: () => Promise<number>; log: Log },
  intervalMs: number,
): () => void {
  return inBackground(deps.removeExpired, intervalMs, deps.log, {
    done: 'removed expired resumable uploads',
    failed: 'removing expired resumable uploads failed',
  });
}

/** Runs `task` now and every `intervalMs` (0: only now), never twice at once; returns a function that stops it. */
function inBackground(
  task: () => Promise<number>,
  intervalMs: number,
  log: Log,
  messages: { done: string; failed: string },
): () => void {
  let running: Promise<void> | null = null;
  const run = () => {
    if (running) return;
    running = task()
      .then((removed) => {
        if (removed > 0) log.info({ removed }, messages.done);
      })
      .catch((err) => log.warn({ err }, messages.failed))
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(run, 0);
  first.unref();
  const timer = intervalMs > 0 ? setInterval(run, intervalMs) : null;
  timer?.unref();
  return () => {
    clearTimeout(first);
    if (timer) clearInterval(timer);
  };
}
