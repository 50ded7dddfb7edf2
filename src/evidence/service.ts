import type { Readable } from 'node:stream';
import yazl from 'yazl';
import { applicationStateString, canDeleteEvidence } from '../../workflows/index.ts';
import { appendApplicationHistory } from '../applications/history.ts';
import { loadApplicationAccess, lockApplicationAccess } from '../applications/repository.ts';
import type { DbOrTrx } from '../db/index.ts';
import { assertMayReadEvidence } from '../domain/access.ts';
import { DomainError, forbidden, notFound, validationFailed } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { type ByteRange, ObjectNotFoundError } from '../storage/store.ts';
import type { EvidenceDeps } from './deps.ts';
import { expandArchive, sniffFolderArchive } from './intake/archive.ts';
import { discardLeftovers, type Intake, startIntake } from './intake/context.ts';
import { parseCriteria } from './intake/criteria.ts';
import { sanitiseFilename } from './intake/filenames.ts';
import { criteriaOfFolders, folderMapperFor, folderPath, isSystemFile } from './intake/folders.ts';
import type { IncomingUpload, OpenUpload } from './intake/incoming.ts';
import { tooManyFiles } from './intake/limits.ts';
import { addPreviews } from './intake/previews.ts';
import { type ReceivedFile, receiveFile } from './intake/receive.ts';
import { recordEvidence } from './intake/record.ts';
import { refuseActiveName } from './media-types.ts';
import { PREVIEW_MEDIA_TYPE, previewKeyOf } from './previews.ts';
import {
  type EvidenceRow,
  findEvidence,
  listEvidenceRows,
  markEvidenceDeleted,
  storedEvidenceRows,
} from './repository.ts';
import type { EvidenceView } from './schemas.ts';
import type { SkippedEntry } from './zip.ts';

export function evidenceView(row: EvidenceRow): EvidenceView {
  return {
    id: row.id,
    filename: row.filename,
    mediaType: row.media_type,
    // int8 arrives as a number from pg (type parser) and may be a string or bigint elsewhere.
    size: Number(row.size),
    sha256: row.sha256,
    criteria: row.criteria,
    round: row.round,
    uploadedBy: row.uploaded_by,
    createdAt: new Date(row.created_at).toISOString(),
    fileRemoved: row.file_removed_at
      ? { at: new Date(row.file_removed_at).toISOString(), reason: row.file_removed_reason ?? 'removed' }
      : null,
    metadataRemoved: row.metadata_removed,
    locationNotRemoved: row.location_not_removed,
    hasPreview: row.has_preview && !row.file_removed_at,
  };
}

// ---------------------------------------------------------------------------------------------------
// Reads

export async function listEvidence(
  db: DbOrTrx,
  p: Principal,
  applicationId: string,
  filter: { criterion?: string } = {},
): Promise<EvidenceView[]> {
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayReadEvidence(access.relations, access.snapshot);
  const rows = await listEvidenceRows(db, applicationId, filter.criterion);
  return rows.map(evidenceView);
}

/** A live evidence row of the application, or not-found. */
async function evidenceOrNotFound(
  db: DbOrTrx,
  applicationId: string,
  evidenceId: string,
): Promise<EvidenceRow> {
  const row = await findEvidence(db, applicationId, evidenceId);
  if (!row) throw notFound('evidence');
  return row;
}

export async function getEvidence(db: DbOrTrx, p: Principal, applicationId: string, evidenceId: string) {
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayReadEvidence(access.relations, access.snapshot);
  return evidenceView(await evidenceOrNotFound(db, applicationId, evidenceId));
}

// ---------------------------------------------------------------------------------------------------
// Download

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable' };

/**
 * One `bytes=` range of RFC 9110 §14.1.2 against a representation of `size` bytes. Several ranges
 * and syntax this does not understand are ignored (the whole file is sent), as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (!header) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (end < start) return { kind: 'full' };
  return { kind: 'partial', range: { start, end } };
}

export type Download = { item: EvidenceView; range: RangeDecision; stream: Readable | null };

/**
 * Opens an evidence file for download and records the download in the application history (SPEC §3:
 * who and when). `rangeFor` decides the byte range from the file's size; a HEAD request
 * (`withBody: false`) opens nothing and records nothing.
 */
export async function downloadEvidence(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  evidenceId: string,
  rangeFor: (item: EvidenceView) => RangeDecision,
  withBody: boolean,
): Promise<Download> {
  const { db } = deps;
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayReadEvidence(access.relations, access.snapshot);
  const row = await evidenceOrNotFound(db, applicationId, evidenceId);
  const item = evidenceView(row);
  if (item.fileRemoved) {
    throw new DomainError(
      'not-found',
      `The file of this evidence was removed (${item.fileRemoved.reason}) on ${item.fileRemoved.at}; its details and history stay`,
      { fileRemoved: item.fileRemoved },
    );
  }
  const range = rangeFor(item);
  if (!withBody || range.kind === 'unsatisfiable') return { item, range, stream: null };
  const stream = await openRecorded(
    deps,
    p,
    applicationId,
    { key: row.storage_key, range: range.kind === 'partial' ? range.range : undefined },
    'The file of this evidence is no longer stored',
    {
      evidenceId,
      filename: row.filename,
      ...(range.kind === 'partial' ? { range: `bytes=${range.range.start}-${range.range.end}` } : {}),
    },
  );
  return { item, range, stream };
}

/**
 * Opens a stored object of an evidence item and records the read in the application's history
 * (EVIDENCE_DOWNLOADED), or neither: an object no longer stored is not found, and a history line that
 * cannot be written closes the stream.
 */
async function openRecorded(
  { db, store }: EvidenceDeps,
  p: Principal,
  applicationId: string,
  object: { key: string; range?: ByteRange },
  missing: string,
  payload: Record<string, unknown>,
): Promise<Readable> {
  let stream: Readable;
  try {
    stream = await store.open(object.key, object.range);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw new DomainError('not-found', missing);
    throw err;
  }
  try {
    await appendApplicationHistory(db, {
      applicationId,
      type: 'EVIDENCE_DOWNLOADED',
      actorId: p.userId,
      from: null,
      to: null,
      payload,
    });
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return stream;
}

/**
 * Opens the preview of an evidence image, with the file's own rule (whoever may read the evidence)
 * and recorded in the history as a download of the file, marked as the preview. A HEAD request
 * (`withBody: false`) opens nothing and records nothing.
 */
export async function openEvidencePreview(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  evidenceId: string,
  withBody: boolean,
): Promise<{ item: EvidenceView; mediaType: string; stream: Readable | null }> {
  const { db } = deps;
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayReadEvidence(access.relations, access.snapshot);
  const row = await evidenceOrNotFound(db, applicationId, evidenceId);
  const item = evidenceView(row);
  if (!item.hasPreview) throw new DomainError('not-found', 'This evidence has no preview');
  if (!withBody) return { item, mediaType: PREVIEW_MEDIA_TYPE, stream: null };
  const stream = await openRecorded(
    deps,
    p,
    applicationId,
    { key: previewKeyOf(row.storage_key) },
    'This evidence has no preview',
    { evidenceId, filename: row.filename, preview: true },
  );
  return { item, mediaType: PREVIEW_MEDIA_TYPE, stream };
}

// ---------------------------------------------------------------------------------------------------
// Upload (the steps are in ./intake/; every door calls this)

export type UploadResult = { items: EvidenceView[]; skipped: SkippedEntry[] };

/**
 * Receives `criteria` then one or more files, or zip archives whose top folders name criteria (SPEC
 * §5, §6). Each file (or zip entry) streams to a temporary object while it is hashed and its type is
 * checked; only when everything is in does one transaction file them. Any failure keeps nothing of
 * the request.
 */
export async function uploadEvidence(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  openUpload: OpenUpload,
  /** A resumable upload being filed: its own reservation does not count against it. */
  ownReservation?: string,
): Promise<UploadResult> {
  // Refuse before reading a byte of the body when the caller may not upload at all.
  const intake = await startIntake(deps, p, applicationId, ownReservation);
  try {
    const { received, skipped } = await receiveUpload(intake, await openUpload());
    const rows = await addPreviews(deps, await recordEvidence(intake, received));
    return { items: rows.map(evidenceView), skipped };
  } finally {
    await discardLeftovers(intake);
  }
}

/**
 * Receives every file of an upload, in order: a folder archive is expanded into its entries (filed by
 * their folders); a file sent with a relative path (a browser folder) is filed by its folders when
 * no criteria were named, or when the named criteria are only a default (see IncomingUpload); any
 * other file is received whole and filed under the upload's criteria.
 */
async function receiveUpload(
  intake: Intake,
  upload: IncomingUpload,
): Promise<{ received: ReceivedFile[]; skipped: SkippedEntry[] }> {
  const { limits } = intake.deps;
  const criteria =
    upload.criteria === undefined ? null : parseCriteria(upload.criteria, intake.criteriaCodes);
  const mapper = folderMapperFor(intake);
  const received: ReceivedFile[] = [];
  const skipped: SkippedEntry[] = [];
  let files = 0;
  let inFolders = 0;
  for await (const incoming of upload.files) {
    if (++files > limits.maxFilesPerRequest) throw tooManyFiles(limits);
    const folder = criteria === null || upload.criteriaAreDefault ? folderPath(incoming.filename) : null;
    if (folder) {
      inFolders++;
      if (isSystemFile(folder.path)) {
        skipped.push({ path: folder.path, reason: 'a file the operating system adds, not evidence' });
        continue;
      }
    }
    // A name that promises markup or code is refused whatever it holds, a zip of folders too.
    refuseActiveName(sanitiseFilename(incoming.filename), folder?.path);
    const { folderArchive, file } = await sniffFolderArchive(incoming);
    if (folderArchive) {
      const expanded = await expandArchive(intake, file);
      received.push(...expanded.received);
      skipped.push(...expanded.skipped);
      continue;
    }
    const byFolder = folder ? criteriaOfFolders(folder.folders, await mapper()) : null;
    if (folder && !byFolder && criteria === null) {
      skipped.push({
        path: folder.path,
        reason: `the folder "${folder.folders.at(-1)}" is not a criterion code or process name of this application`,
      });
      continue;
    }
    const filedUnder = byFolder ?? criteria;
    if (filedUnder === null) {
      throw validationFailed('Send the criteria field before the files', [
        {
          path: 'body.criteria',
          message: 'missing before the first file (only a zip or a folder of criterion folders needs none)',
        },
      ]);
    }
    const bytes = await receiveFile(intake, file, folder?.path);
    if (bytes.size === 0) {
      if (folder) {
        skipped.push({ path: folder.path, reason: 'the file is empty' });
        continue;
      }
      throw validationFailed(`"${bytes.filename}" is empty`);
    }
    received.push({ ...bytes, criteria: filedUnder, ...(folder ? { archivePath: folder.path } : {}) });
  }
  if (files === 0) {
    if (criteria === null) {
      throw validationFailed('The criteria field is missing', [
        { path: 'body.criteria', message: 'required' },
      ]);
    }
    throw validationFailed('Send at least one file after the criteria field');
  }
  if (received.length === 0 && inFolders > 0) {
    throw validationFailed(
      `The folder has no files inside criterion folders (${intake.criteriaCodes.join(', ')}) or process folders (Learn, Embed, Share)`,
      skipped.map((s) => ({ path: s.path, message: s.reason })),
    );
  }
  return { received, skipped };
}

// ---------------------------------------------------------------------------------------------------
// Delete

/** Marks evidence deleted (the row and history stay) and then removes its bytes. */
export async function deleteEvidence(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  evidenceId: string,
): Promise<void> {
  const removed = await deps.db.transaction().execute(async (trx) => {
    const access = await lockApplicationAccess(trx, p, applicationId);
    if (!access.relations.has('applicant') && !access.relations.has('admin')) {
      throw forbidden('Only members of the applying organisation (or an admin) delete evidence');
    }
    const row = await evidenceOrNotFound(trx, applicationId, evidenceId);
    if (!canDeleteEvidence(access.snapshot)) {
      throw new DomainError(
        'illegal-transition',
        `Evidence can be deleted only in a draft that was never submitted; the application is ${applicationStateString(access.snapshot)}`,
      );
    }
    await markEvidenceDeleted(trx, row.id);
    await appendApplicationHistory(trx, {
      applicationId,
      type: 'EVIDENCE_DELETED',
      actorId: p.userId,
      from: null,
      to: null,
      payload: {
        evidenceId,
        filename: row.filename,
        criteria: row.criteria,
        size: Number(row.size),
        sha256: row.sha256,
      },
    });
    return row;
  });
  // After the commit: a failure here leaves only an orphan for the sweep, never a row without bytes.
  const keys = removed.has_preview
    ? [removed.storage_key, previewKeyOf(removed.storage_key)]
    : [removed.storage_key];
  for (const key of keys) {
    await deps.store
      .remove(key)
      .catch((err) => deps.log?.warn({ err, key }, 'could not remove a deleted evidence object'));
  }
}

// ---------------------------------------------------------------------------------------------------
// Bulk download

/**
 * Every stored evidence file of an application as one zip, for the panel: a folder per criterion
 * (a file filed under two criteria is in both), so the archive uploads again as it is. Streamed: each
 * file is opened only when the archive reaches it, and stored uncompressed (photos, videos and office
 * files are compressed already). Recorded once in the history.
 */
export async function downloadEvidenceArchive(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
): Promise<{ filename: string; stream: Readable; files: number }> {
  const { db, store } = deps;
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayReadEvidence(access.relations, access.snapshot);
  const rows = await storedEvidenceRows(db, applicationId);
  await appendApplicationHistory(db, {
    applicationId,
    type: 'EVIDENCE_ARCHIVE_DOWNLOADED',
    actorId: p.userId,
    from: null,
    to: null,
    payload: { files: rows.length, evidenceIds: rows.map((r) => r.id) },
  });
  const archive = new yazl.ZipFile();
  const taken = new Set<string>();
  for (const row of rows) {
    for (const code of row.criteria) {
      const path = uniquePath(taken, `${code}/${row.filename}`);
      archive.addReadStreamLazy(
        path,
        { compress: false, mtime: new Date(row.created_at), size: Number(row.size) },
        (callback) => {
          store.open(row.storage_key).then(
            (stream) => callback(null, stream),
            (err: Error) => callback(err, undefined as unknown as Readable),
          );
        },
      );
    }
  }
  archive.end();
  const stream = archive.outputStream as Readable;
  // A store failure mid-archive cannot become a problem document any more: end the response broken.
  archive.on('error', (err: Error) => stream.destroy(err));
  return { filename: `evidence-${applicationId}.zip`, stream, files: rows.length };
}

/** `L1/photo.jpg`, then `L1/photo (2).jpg` …: two files may share a name (different bytes). */
function uniquePath(taken: Set<string>, path: string): string {
  let candidate = path;
  const dot = path.lastIndexOf('.');
  const [stem, extension] = dot > path.indexOf('/') + 1 ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) candidate = `${stem} (${n})${extension}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}
