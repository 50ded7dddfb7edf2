import { sql } from 'kysely';
import type { DbOrTrx, Trx } from '../db/index.ts';
import { fileKeyOfPreview } from './previews.ts';

/** The queries on evidence rows (and the few on criteria and applications the evidence rules need). */

export type EvidenceRow = {
  id: string;
  filename: string;
  media_type: string;
  size: number | string;
  sha256: string;
  storage_key: string;
  criteria: string[];
  round: number;
  uploaded_by: string | null;
  created_at: Date | string;
  file_removed_at: Date | string | null;
  file_removed_reason: string | null;
  metadata_removed: string[] | null;
  location_not_removed: string[];
  has_preview: boolean;
};

const EVIDENCE_COLUMNS = [
  'id',
  'filename',
  'media_type',
  'size',
  'sha256',
  'storage_key',
  'criteria',
  'round',
  'uploaded_by',
  'created_at',
  'file_removed_at',
  'file_removed_reason',
  'metadata_removed',
  'location_not_removed',
  'has_preview',
] as const;

/** Evidence of an application that is not deleted (its file may have been removed by retention). */
function liveEvidence(db: DbOrTrx, applicationId: string) {
  return db
    .selectFrom('evidence')
    .select(EVIDENCE_COLUMNS)
    .where('application_id', '=', applicationId)
    .where('deleted_at', 'is', null);
}

// ---------------------------------------------------------------------------------------------------
// Reads

/**
 * Bytes that count against the application's limit: its stored evidence, and what its unfinished
 * resumable uploads have reserved (except `ownReservation`, the upload being filed now), so that no
 * door can take the room a resumable upload under way was promised.
 */
export async function heldBytes(
  db: DbOrTrx,
  applicationId: string,
  ownReservation?: string,
): Promise<number> {
  const row = await db
    .selectNoFrom((eb) => [
      eb
        .selectFrom('evidence')
        .select(sql<string | number>`coalesce(sum(size), 0)`.as('s'))
        .where('application_id', '=', applicationId)
        .where('deleted_at', 'is', null)
        .where('file_removed_at', 'is', null)
        .as('stored'),
      eb
        .selectFrom('evidence_uploads')
        .select(sql<string | number>`coalesce(sum(length), 0)`.as('r'))
        .where('application_id', '=', applicationId)
        .where('expires_at', '>', sql<Date>`now()`)
        .$if(ownReservation !== undefined, (q) => q.where('id', '!=', ownReservation as string))
        .as('reserved'),
    ])
    .executeTakeFirstOrThrow();
  return Number(row.stored) + Number(row.reserved);
}

/** The application's evidence in upload order, optionally only that filed under `criterion`. */
export function listEvidenceRows(
  db: DbOrTrx,
  applicationId: string,
  criterion?: string,
): Promise<EvidenceRow[]> {
  let q = liveEvidence(db, applicationId);
  if (criterion) q = q.where(sql<boolean>`${criterion} = any(criteria)`);
  return q.orderBy('created_at').orderBy('id').execute();
}

/** Evidence whose file is still stored, in upload order. */
export function storedEvidenceRows(db: DbOrTrx, applicationId: string): Promise<EvidenceRow[]> {
  return liveEvidence(db, applicationId)
    .where('file_removed_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export function findEvidence(
  db: DbOrTrx,
  applicationId: string,
  evidenceId: string,
): Promise<EvidenceRow | undefined> {
  return liveEvidence(db, applicationId).where('id', '=', evidenceId).executeTakeFirst();
}

/** Stored evidence of the application with any of these SHA-256 hashes (to store the same bytes once). */
export function storedEvidenceWithHashes(
  db: DbOrTrx,
  applicationId: string,
  sha256s: string[],
): Promise<EvidenceRow[]> {
  return liveEvidence(db, applicationId)
    .where('file_removed_at', 'is', null)
    .where('sha256', 'in', sha256s)
    .execute();
}

/** The criterion codes of a criteria set with their process (Learn, Embed, Share). */
export function criteriaOfSet(db: DbOrTrx, criteriaSetId: string) {
  return db
    .selectFrom('criteria')
    .select(['code', 'process'])
    .where('criteria_set_id', '=', criteriaSetId)
    .execute();
}

// ---------------------------------------------------------------------------------------------------
// Writes (inside the transaction that holds the application's row lock)

export type NewEvidence = {
  id: string;
  applicationId: string;
  filename: string;
  mediaType: string;
  size: number;
  sha256: string;
  storageKey: string;
  criteria: string[];
  round: number;
  uploadedBy: string;
  metadataRemoved: string[] | null;
  locationNotRemoved: string[];
};

export function insertEvidence(trx: Trx, e: NewEvidence): Promise<EvidenceRow> {
  return trx
    .insertInto('evidence')
    .values({
      id: e.id,
      application_id: e.applicationId,
      filename: e.filename,
      media_type: e.mediaType,
      size: e.size,
      sha256: e.sha256,
      storage_key: e.storageKey,
      criteria: e.criteria,
      round: e.round,
      uploaded_by: e.uploadedBy,
      metadata_removed: e.metadataRemoved,
      location_not_removed: e.locationNotRemoved,
    })
    .returning(EVIDENCE_COLUMNS)
    .executeTakeFirstOrThrow();
}

export function setEvidenceCriteria(trx: Trx, evidenceId: string, criteria: string[]): Promise<EvidenceRow> {
  return trx
    .updateTable('evidence')
    .set({ criteria })
    .where('id', '=', evidenceId)
    .returning(EVIDENCE_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Records that the row's preview is stored; undefined when the row was deleted meanwhile. */
export function markPreviewStored(db: DbOrTrx, evidenceId: string): Promise<EvidenceRow | undefined> {
  return db
    .updateTable('evidence')
    .set({ has_preview: true })
    .where('id', '=', evidenceId)
    .where('deleted_at', 'is', null)
    .where('file_removed_at', 'is', null)
    .returning(EVIDENCE_COLUMNS)
    .executeTakeFirst();
}

export async function markEvidenceDeleted(trx: Trx, evidenceId: string): Promise<void> {
  await trx
    .updateTable('evidence')
    .set({ deleted_at: sql<Date>`now()` })
    .where('id', '=', evidenceId)
    .execute();
}

// ---------------------------------------------------------------------------------------------------
// Retention and the orphan sweep

export type RetentionCandidateRow = {
  application_id: string;
  state: string;
  closed_at: Date | string;
  evidence_id: string;
  filename: string;
  size: number | string;
};

/**
 * Stored evidence files of applications in one of `finalStates` that they entered at or before
 * `closedBefore` (when the last history line into the current state was written).
 */
export async function retentionCandidates(
  db: DbOrTrx,
  finalStates: readonly string[],
  closedBefore: Date,
): Promise<RetentionCandidateRow[]> {
  const rows = await sql<RetentionCandidateRow>`
    select a.id as application_id, a.status as state, c.closed_at, e.id as evidence_id, e.filename, e.size
    from applications a
    cross join lateral (
      select max(h.at) as closed_at from application_events h
      where h.application_id = a.id and h.to_state = a.status
    ) c
    join evidence e on e.application_id = a.id and e.deleted_at is null and e.file_removed_at is null
    where a.status in (${sql.join(finalStates)})
      and c.closed_at <= ${closedBefore}
    order by c.closed_at, a.id, e.created_at, e.id`.execute(db);
  return rows.rows;
}

/** Locks the application's row for the rest of the transaction (no caller to check: for housekeeping). */
export async function lockApplicationRow(trx: Trx, applicationId: string): Promise<void> {
  await trx.selectFrom('applications').select('id').where('id', '=', applicationId).forUpdate().execute();
}

/** Marks these evidence files removed by retention; returns those it marked (others were gone already). */
export function markFilesRemovedByRetention(trx: Trx, applicationId: string, evidenceIds: string[]) {
  return trx
    .updateTable('evidence')
    .set({ file_removed_at: sql<Date>`now()`, file_removed_reason: 'retention' })
    .where('application_id', '=', applicationId)
    .where('id', 'in', evidenceIds)
    .where('file_removed_at', 'is', null)
    .where('deleted_at', 'is', null)
    .returning(['id', 'filename', 'storage_key', 'has_preview'])
    .execute();
}

/** Which of these storage keys a live evidence row still holds (a preview's key, when its row has one). */
export async function heldStorageKeys(db: DbOrTrx, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const fileKeys = keys.map((key) => fileKeyOfPreview(key) ?? key);
  const rows = await db
    .selectFrom('evidence')
    .select(['storage_key', 'has_preview'])
    .where('storage_key', 'in', fileKeys)
    .where('deleted_at', 'is', null)
    .where('file_removed_at', 'is', null)
    .execute();
  const held = new Map(rows.map((r) => [r.storage_key, r.has_preview]));
  return new Set(
    keys.filter((key) => {
      const fileKey = fileKeyOfPreview(key);
      return fileKey === null ? held.has(key) : held.get(fileKey) === true;
    }),
  );
}
