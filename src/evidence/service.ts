import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromBuffer } from 'file-type';
import yazl from 'yazl';
import { applicationStateString, canAddEvidence, canDeleteEvidence } from '../../workflows/index.ts';
import { appendApplicationHistory } from '../applications/history.ts';
import {
  type ApplicationAccess,
  loadApplicationAccess,
  lockApplicationAccess,
} from '../applications/repository.ts';
import type { Config } from '../config.ts';
import type { Db, DbOrTrx } from '../db/index.ts';
import { DomainError, forbidden, notFound, validationFailed } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { reserveTempFile } from '../storage/local.ts';
import {
  type ByteRange,
  type EvidenceStore,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type PendingObject,
} from '../storage/store.ts';
import type { IncomingFile, OpenUpload } from './intake/incoming.ts';
import { applicationFull, fileTooLarge, tooManyFiles, zipTooLarge } from './intake/limits.ts';
import { HEAD_BYTES, inspectMediaType } from './media-types.ts';
import {
  criteriaOfSet,
  type EvidenceRow,
  findEvidence,
  insertEvidence,
  listEvidenceRows,
  markEvidenceDeleted,
  setEvidenceCriteria,
  storedBytes,
  storedEvidenceRows,
  storedEvidenceWithHashes,
} from './repository.ts';
import type { EvidenceView } from './schemas.ts';
import { folderMapper, type OpenedArchive, openFolderArchive, type SkippedEntry } from './zip.ts';

export type EvidenceDeps = {
  db: Db;
  store: EvidenceStore;
  limits: Config['limits'];
  zipLimits: Config['zipLimits'];
  /** A local directory for scratch files (a zip archive is spooled there while it is unpacked). */
  scratchDir: string;
  /** Where failures that must not fail the request (a leftover file) are reported. */
  log?: { warn: (details: object, message: string) => void };
};

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
  await loadApplicationAccess(db, p, applicationId);
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
  await loadApplicationAccess(db, p, applicationId);
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
  const { db, store } = deps;
  await loadApplicationAccess(db, p, applicationId);
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
  let stream: Readable;
  try {
    stream = await store.open(row.storage_key, range.kind === 'partial' ? range.range : undefined);
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      throw new DomainError('not-found', 'The file of this evidence is no longer stored');
    throw err;
  }
  try {
    await appendApplicationHistory(db, {
      applicationId,
      type: 'EVIDENCE_DOWNLOADED',
      actorId: p.userId,
      from: null,
      to: null,
      payload: {
        evidenceId,
        filename: row.filename,
        ...(range.kind === 'partial' ? { range: `bytes=${range.range.start}-${range.range.end}` } : {}),
      },
    });
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return { item, range, stream };
}

// ---------------------------------------------------------------------------------------------------
// Upload

/** A file name safe to store and show: no path, no control or bidi-override characters, ≤ 255 characters. */
export function sanitiseFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    // Control characters, and the bidi overrides that make "cod.exe" display as "exe.doc".
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .trim()
    .replace(/^\.+/, '')
    .trim();
  const chars = Array.from(cleaned || 'file');
  if (chars.length <= 255) return chars.join('');
  // Keep the extension when shortening.
  const dot = cleaned.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(cleaned.slice(dot)) : [];
  if (extension.length > 0 && extension.length <= 16) {
    return chars.slice(0, 255 - extension.length).join('') + extension.join('');
  }
  return chars.slice(0, 255).join('');
}

function parseCriteria(value: unknown, allowed: readonly string[]): string[] {
  const codes = [
    ...new Set(
      String(value ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    ),
  ];
  const error = (message: string) => validationFailed(message, [{ path: 'body.criteria', message }]);
  if (codes.length === 0)
    throw error(`criteria must name at least one criterion code of: ${allowed.join(', ')}`);
  const unknown = codes.filter((c) => !allowed.includes(c));
  if (unknown.length > 0) {
    throw error(
      `unknown criterion code ${unknown.join(', ')}; this application's criteria are ${allowed.join(', ')}`,
    );
  }
  return codes;
}

function assertMayAddEvidence(access: ApplicationAccess) {
  if (!access.relations.has('applicant')) {
    throw forbidden('Only members of the applying organisation upload evidence');
  }
  if (!canAddEvidence(access.snapshot)) {
    throw new DomainError(
      'illegal-transition',
      `Evidence cannot be added while the application is ${applicationStateString(access.snapshot)}`,
    );
  }
}

type ReceivedFile = {
  object: PendingObject;
  filename: string;
  mediaType: string;
  size: number;
  sha256: string;
  criteria: string[];
  /** Where it was inside an uploaded zip archive. */
  archivePath?: string;
};

export type UploadResult = { items: EvidenceView[]; skipped: SkippedEntry[] };

const ZIP_SIGNATURE = Buffer.from('PK\x03\x04', 'latin1');

/**
 * The first bytes of a stream, and the whole stream again from its start: enough to tell a zip (up to
 * `bytes`, so DOCX, ODT … can be told from a plain zip) or, for anything else, the first chunk.
 */
async function peek(source: AsyncIterable<Uint8Array>, bytes: number) {
  const iterator = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  const mayBeZip = () => {
    const start = Buffer.concat(head).subarray(0, 4);
    return start.length < 4
      ? ZIP_SIGNATURE.subarray(0, start.length).equals(start)
      : start.equals(ZIP_SIGNATURE);
  };
  while (length < bytes && mayBeZip()) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    length += next.value.length;
  }
  async function* whole(): AsyncGenerator<Uint8Array> {
    yield* head;
    while (!ended) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head: Buffer.concat(head), stream: whole() };
}

/** A plain zip (not a DOCX, ODT … which are zips too) is a folder of evidence. */
async function isFolderArchive(head: Buffer): Promise<boolean> {
  if (!head.subarray(0, 4).equals(ZIP_SIGNATURE)) return false;
  return (await fileTypeFromBuffer(head))?.mime === 'application/zip';
}

/** Streams `source` to a local file, failing past `maxBytes`. */
async function spool(source: AsyncIterable<Uint8Array>, path: string, maxBytes: number): Promise<number> {
  let size = 0;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Uint8Array>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > maxBytes) throw new ObjectTooLargeError(maxBytes);
        yield chunk;
      }
    },
    createWriteStream(path, { flags: 'wx' }),
  );
  return size;
}

/**
 * Receives `criteria` then one or more files, or zip archives whose top folders name criteria (SPEC
 * §5, §6). Each file (or zip entry) streams to a temporary object while it is hashed and its type is
 * checked; only when everything is in does one transaction file them: new bytes become rows (their
 * objects committed into place first), bytes the application already has only gain the new criteria.
 * Any failure keeps nothing of the request.
 */
export async function uploadEvidence(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  openUpload: OpenUpload,
): Promise<UploadResult> {
  const { db, store, limits } = deps;
  // Refuse before reading a byte of the body when the caller may not upload at all.
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayAddEvidence(access);
  const allowedCodes = access.snapshot.context.criteriaCodes;
  const bytesBefore = await storedBytes(db, applicationId);
  let bytesSoFar = bytesBefore;

  const pending: PendingObject[] = [];
  const received: ReceivedFile[] = [];
  const skipped: SkippedEntry[] = [];
  let criteria: string[] | null = null;
  let fileParts = 0;
  const committedKeys: string[] = [];
  let transactionBodyDone = false;

  /** Streams one file to a pending object under both the per-file and the per-application limit. */
  const receive = async (source: AsyncIterable<Uint8Array>, filename: string, shownName: string) => {
    const object = await store.begin();
    pending.push(object);
    const inspection = inspectMediaType(source, shownName);
    const allowance = limits.maxApplicationBytes - bytesSoFar;
    try {
      const written = await object.write(inspection.stream, {
        maxBytes: Math.min(limits.maxFileBytes, allowance),
      });
      return { object, filename, mediaType: written.size > 0 ? inspection.result() : '', ...written };
    } catch (err) {
      if (err instanceof ObjectTooLargeError) {
        if (allowance < limits.maxFileBytes) throw applicationFull(limits, bytesBefore);
        throw fileTooLarge(shownName, limits);
      }
      throw err;
    }
  };

  const receiveArchive = async (source: AsyncIterable<Uint8Array>, incoming: IncomingFile) => {
    const spooled = await reserveTempFile(deps.scratchDir);
    let archive: OpenedArchive | null = null;
    try {
      try {
        await spool(source, spooled.path, deps.zipLimits.maxZipBytes);
      } catch (err) {
        if (err instanceof ObjectTooLargeError) throw zipTooLarge(deps.zipLimits.maxZipBytes);
        throw err;
      }
      if (incoming.truncated()) throw zipTooLarge(deps.zipLimits.maxZipBytes);
      const criteriaRows = await criteriaOfSet(db, access.application.criteria_set_id);
      const mapper = folderMapper(criteriaRows.filter((c) => allowedCodes.includes(c.code)));
      archive = await openFolderArchive(
        spooled.path,
        { ...deps.zipLimits, maxFileBytes: limits.maxFileBytes },
        mapper,
      );
      skipped.push(...archive.skipped);
      for (const entry of archive.entries) {
        let file: Awaited<ReturnType<typeof receive>>;
        try {
          file = await receive(await archive.openEntry(entry), sanitiseFilename(entry.filename), entry.path);
        } catch (err) {
          // The problem names the entry, so the school knows which file to fix.
          if (err instanceof DomainError)
            throw new DomainError(err.code, err.message, { ...err.extra, entry: entry.path });
          throw new DomainError(
            'validation-failed',
            `The zip entry "${entry.path}" cannot be read: ${(err as Error).message}`,
            {
              entry: entry.path,
              reason: 'corrupt',
            },
          );
        }
        if (file.size === 0) {
          skipped.push({ path: entry.path, reason: 'the file is empty' });
          continue;
        }
        bytesSoFar += file.size;
        received.push({ ...file, criteria: entry.criteria, archivePath: entry.path });
      }
      if (archive.entries.length === 0) {
        throw validationFailed(
          `The zip archive has no files inside criterion folders (${allowedCodes.join(', ')}) or process folders (Learn, Embed, Share)`,
          skipped.map((s) => ({ path: s.path, message: s.reason })),
        );
      }
    } finally {
      archive?.close();
      await spooled.release();
    }
  };

  try {
    const upload = await openUpload();
    if (upload.criteria !== undefined) criteria = parseCriteria(upload.criteria, allowedCodes);
    for await (const incoming of upload.files) {
      const filename = sanitiseFilename(incoming.filename);
      if (++fileParts > limits.maxFilesPerRequest) throw tooManyFiles(limits);
      const { head, stream } = await peek(incoming.stream, HEAD_BYTES);
      if (await isFolderArchive(head)) {
        await receiveArchive(stream, incoming);
        continue;
      }
      if (criteria === null) {
        throw validationFailed('Send the criteria field before the files', [
          {
            path: 'body.criteria',
            message: 'missing before the first file (only a zip of criterion folders needs none)',
          },
        ]);
      }
      const file = await receive(stream, filename, filename);
      // A door may stop a file at its own size limit and flag it: known only once the stream was read.
      if (incoming.truncated()) throw fileTooLarge(filename, limits);
      if (file.size === 0) throw validationFailed(`"${filename}" is empty`);
      bytesSoFar += file.size;
      received.push({ ...file, criteria });
    }
    if (fileParts === 0) {
      if (criteria === null) {
        throw validationFailed('The criteria field is missing', [
          { path: 'body.criteria', message: 'required' },
        ]);
      }
      throw validationFailed('Send at least one file after the criteria field');
    }

    const rows = await db.transaction().execute(async (trx) => {
      // The row lock serialises uploads to one application: totals and duplicates are exact.
      const locked = await lockApplicationAccess(trx, p, applicationId);
      assertMayAddEvidence(locked);
      // The same bytes twice in one request are one file, filed under every criterion they came with.
      const unique = new Map<string, ReceivedFile>();
      for (const file of received) {
        const first = unique.get(file.sha256);
        if (!first) unique.set(file.sha256, { ...file });
        else first.criteria = [...new Set([...first.criteria, ...file.criteria])];
      }
      const existing = await storedEvidenceWithHashes(trx, applicationId, [...unique.keys()]);
      const existingBySha = new Map(existing.map((row) => [row.sha256, row]));
      const newBytes = [...unique.values()]
        .filter((f) => !existingBySha.has(f.sha256))
        .reduce((n, f) => n + f.size, 0);
      const before = await storedBytes(trx, applicationId);
      if (before + newBytes > limits.maxApplicationBytes) {
        throw applicationFull(limits, before);
      }
      const round = locked.snapshot.context.round;
      const out: EvidenceRow[] = [];
      for (const file of unique.values()) {
        const duplicate = existingBySha.get(file.sha256);
        let row: EvidenceRow;
        let addedCriteria: string[];
        if (duplicate) {
          // The same bytes are stored once: the existing file is also filed under the new criteria.
          addedCriteria = file.criteria.filter((c) => !duplicate.criteria.includes(c));
          row = duplicate;
          if (addedCriteria.length > 0) {
            row = await setEvidenceCriteria(trx, duplicate.id, [...duplicate.criteria, ...addedCriteria]);
          }
        } else {
          const key = randomUUID();
          await file.object.commit(key);
          committedKeys.push(key);
          addedCriteria = file.criteria;
          row = await insertEvidence(trx, {
            id: key,
            applicationId,
            filename: file.filename,
            mediaType: file.mediaType,
            size: file.size,
            sha256: file.sha256,
            storageKey: key,
            criteria: file.criteria,
            round,
            uploadedBy: p.userId,
          });
        }
        await appendApplicationHistory(trx, {
          applicationId,
          type: 'EVIDENCE_UPLOADED',
          actorId: p.userId,
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
            ...(duplicate ? { duplicate: true } : {}),
          },
        });
        out.push(row);
      }
      transactionBodyDone = true;
      return out;
    });
    return { items: rows.map(evidenceView), skipped };
  } catch (err) {
    // Failed before COMMIT was sent: no row can point at the committed objects. A failure of COMMIT
    // itself is ambiguous, so those objects stay for the orphan sweep rather than risk a row without bytes.
    if (!transactionBodyDone) {
      await Promise.all(
        committedKeys.map((key) =>
          store
            .remove(key)
            .catch((e) => deps.log?.warn({ err: e, key }, 'could not remove an evidence object')),
        ),
      );
    }
    throw err;
  } finally {
    await Promise.all(
      pending.map((o) =>
        o.discard().catch((e) => deps.log?.warn({ err: e }, 'could not remove a temporary evidence object')),
      ),
    );
  }
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
  const key = await deps.db.transaction().execute(async (trx) => {
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
    return row.storage_key;
  });
  // After the commit: a failure here leaves only an orphan for the sweep, never a row without bytes.
  await deps.store
    .remove(key)
    .catch((err) => deps.log?.warn({ err, key }, 'could not remove a deleted evidence object'));
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
  await loadApplicationAccess(db, p, applicationId);
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
