import { randomUUID } from 'node:crypto';
import { appendApplicationHistory } from '../../applications/history.ts';
import { lockApplicationAccess } from '../../applications/repository.ts';
import type { Trx } from '../../db/index.ts';
import {
  type EvidenceRow,
  heldBytes,
  insertEvidence,
  setEvidenceCriteria,
  storedEvidenceWithHashes,
} from '../repository.ts';
import { assertMayAddEvidence, type Intake } from './context.ts';
import { applicationFull } from './limits.ts';
import type { ReceivedFile } from './receive.ts';

/** The same bytes twice in one upload are one file, filed under every criterion they came with. */
function mergeSameBytes(received: ReceivedFile[]): ReceivedFile[] {
  const unique = new Map<string, ReceivedFile>();
  for (const file of received) {
    const first = unique.get(file.sha256);
    if (!first) unique.set(file.sha256, { ...file });
    else first.criteria = [...new Set([...first.criteria, ...file.criteria])];
  }
  return [...unique.values()];
}

/**
 * Files the received files in one transaction: new bytes become rows (their objects committed into
 * place first), bytes the application already has only gain the new criteria; each file gets a line
 * in the application history. The application's row lock serialises uploads to one application, so
 * the caller's right, the duplicates and the byte limit are decided exactly. On a failure no row
 * stays and the objects committed for it are removed.
 */
export async function recordEvidence(intake: Intake, received: ReceivedFile[]): Promise<EvidenceRow[]> {
  const { db, store, log } = intake.deps;
  const committedKeys: string[] = [];
  let transactionBodyDone = false;
  try {
    return await db.transaction().execute(async (trx) => {
      const locked = await lockApplicationAccess(trx, intake.actor, intake.applicationId);
      assertMayAddEvidence(locked);
      const files = mergeSameBytes(received);
      const existing = await storedEvidenceWithHashes(
        trx,
        intake.applicationId,
        files.map((f) => f.sha256),
      );
      const existingBySha = new Map(existing.map((row) => [row.sha256, row]));
      await assertWithinApplicationLimit(trx, intake, files, existingBySha);
      const round = locked.snapshot.context.round;
      const rows: EvidenceRow[] = [];
      for (const file of files) {
        const duplicate = existingBySha.get(file.sha256);
        rows.push(
          duplicate
            ? await fileAgain(trx, intake, file, duplicate)
            : await fileNew(trx, intake, file, round, committedKeys),
        );
      }
      transactionBodyDone = true;
      return rows;
    });
  } catch (err) {
    // Failed before COMMIT was sent: no row can point at the committed objects. A failure of COMMIT
    // itself is ambiguous, so those objects stay for the orphan sweep rather than risk a row without bytes.
    if (!transactionBodyDone) {
      await Promise.all(
        committedKeys.map((key) =>
          store.remove(key).catch((e) => log?.warn({ err: e, key }, 'could not remove an evidence object')),
        ),
      );
    }
    throw err;
  }
}

/** The bytes this upload adds (those the application does not have yet) fit its limit, counted under the lock. */
async function assertWithinApplicationLimit(
  trx: Trx,
  intake: Intake,
  files: ReceivedFile[],
  existingBySha: Map<string, EvidenceRow>,
) {
  const newBytes = files.filter((f) => !existingBySha.has(f.sha256)).reduce((n, f) => n + f.size, 0);
  const before = await heldBytes(trx, intake.applicationId, intake.ownReservation);
  if (before + newBytes > intake.deps.limits.maxApplicationBytes) {
    throw applicationFull(intake.deps.limits, before);
  }
}

/** New bytes: the pending object is committed under the new row's id, then the row inserted. */
async function fileNew(
  trx: Trx,
  intake: Intake,
  file: ReceivedFile,
  round: number,
  committedKeys: string[],
): Promise<EvidenceRow> {
  const key = randomUUID();
  await file.object.commit(key);
  committedKeys.push(key);
  const row = await insertEvidence(trx, {
    id: key,
    applicationId: intake.applicationId,
    filename: file.filename,
    mediaType: file.mediaType,
    size: file.size,
    sha256: file.sha256,
    storageKey: key,
    criteria: file.criteria,
    round,
    uploadedBy: intake.actor.userId,
    metadataRemoved: file.location?.removed ?? null,
    locationNotRemoved: file.location?.notRemoved ?? [],
  });
  await recordUpload(trx, intake, file, row, file.criteria, false);
  return row;
}

/** The same bytes are stored once: the existing file is also filed under the new criteria. */
async function fileAgain(
  trx: Trx,
  intake: Intake,
  file: ReceivedFile,
  duplicate: EvidenceRow,
): Promise<EvidenceRow> {
  const addedCriteria = file.criteria.filter((c) => !duplicate.criteria.includes(c));
  const row =
    addedCriteria.length > 0
      ? await setEvidenceCriteria(trx, duplicate.id, [...duplicate.criteria, ...addedCriteria])
      : duplicate;
  await recordUpload(trx, intake, file, row, addedCriteria, true);
  return row;
}

/** The history line of one uploaded file: what it added, so RESUBMIT can tell new evidence. */
async function recordUpload(
  trx: Trx,
  intake: Intake,
  file: ReceivedFile,
  row: EvidenceRow,
  addedCriteria: string[],
  duplicate: boolean,
) {
  await appendApplicationHistory(trx, {
    applicationId: intake.applicationId,
    type: 'EVIDENCE_UPLOADED',
    actorId: intake.actor.userId,
    from: null,
    to: null,
    payload: {
      evidenceId: row.id,
      filename: file.filename,
      criteria: row.criteria,
      addedCriteria,
      size: file.size,
      sha256: file.sha256,
      ...(file.archivePath ? { archivePath: file.archivePath } : {}),
      ...(file.location?.removed.length ? { metadataRemoved: file.location.removed } : {}),
      ...(file.location?.notRemoved.length ? { locationNotRemoved: file.location.notRemoved } : {}),
      ...(duplicate ? { duplicate: true } : {}),
    },
  });
}
