import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Selectable } from 'kysely';
import { loadApplicationAccess, lockApplicationAccess } from '../applications/repository.ts';
import type { Db, DbOrTrx } from '../db/index.ts';
import type { EvidenceUploadsTable } from '../db/schema.ts';
import { forbidden, notFound, validationFailed } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { AdoptedFile } from '../storage/store.ts';
import type { EvidenceDeps } from './deps.ts';
import { assertMayAddEvidence } from './intake/context.ts';
import { parseCriteria } from './intake/criteria.ts';
import { sanitiseFilename } from './intake/filenames.ts';
import { folderPath } from './intake/folders.ts';
import { applicationFull, fileTooLarge, zipTooLarge } from './intake/limits.ts';
import { cleaningKeepsLength } from './location/index.ts';
import { refuseActiveName } from './media-types.ts';
import { heldBytes } from './repository.ts';
import { type UploadResult, uploadEvidence } from './service.ts';

/**
 * Resumable uploads (SPEC §6; the tus door is ./tus.ts): the rules of one file sent in pieces. A new
 * upload is authorised like any other and reserves its declared length against the application's
 * byte limit; once its last byte arrived it goes through the same intake as a multipart file.
 */

export type ResumableUpload = Selectable<EvidenceUploadsTable>;

/** What a client declares when it creates an upload (tus `Upload-Length` and `Upload-Metadata`). */
export type ResumableDeclaration = {
  length: number | undefined;
  filename: string | undefined;
  /** Comma-separated criterion codes; none when the file is a zip of criterion folders or has a relative path. */
  criteria: string | undefined;
  /** A file of a chosen folder: its path inside the folder, filed by its folders (see ./intake/folders.ts). */
  relativePath: string | undefined;
};

const ZIP_NAME = /\.zip$/i;

/**
 * Creates an upload: the caller may add evidence now, the name and criteria are acceptable, the
 * declared length is within the per-file limit (a zip's within the zip limit) and, counted with the
 * stored evidence and the other unfinished uploads under the application's row lock, within the
 * application's limit. Nothing of the file has been sent yet, so a refusal costs the client nothing.
 */
export async function beginResumableUpload(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  declared: ResumableDeclaration,
  expiresAt: Date,
): Promise<ResumableUpload> {
  const { limits, zipLimits } = deps;
  const name = declared.relativePath ?? declared.filename;
  if (!name) {
    throw validationFailed('Name the file in Upload-Metadata (filename)', [
      { path: 'headers.upload-metadata', message: 'filename is required' },
    ]);
  }
  const length = declared.length;
  if (length === undefined || !Number.isSafeInteger(length) || length < 0) {
    throw validationFailed('Declare the file size in Upload-Length (deferred lengths are not accepted)', [
      { path: 'headers.upload-length', message: 'required, a whole number of bytes' },
    ]);
  }
  const folder = declared.relativePath ? folderPath(declared.relativePath) : null;
  const filename = sanitiseFilename(declared.filename ?? name.split(/[/\\]/).at(-1));
  refuseActiveName(filename, folder?.path ?? filename);
  if (length === 0) throw validationFailed(`"${filename}" is empty`);
  const isZip = ZIP_NAME.test(filename);
  if (isZip && length > Math.max(limits.maxFileBytes, zipLimits.maxZipBytes)) {
    throw zipTooLarge(zipLimits.maxZipBytes);
  }
  if (!isZip && length > limits.maxFileBytes) throw fileTooLarge(folder?.path ?? filename, limits);

  return deps.db.transaction().execute(async (trx) => {
    const access = await lockApplicationAccess(trx, p, applicationId);
    assertMayAddEvidence(access);
    const criteria =
      declared.criteria === undefined
        ? undefined
        : parseCriteria(declared.criteria, access.snapshot.context.criteriaCodes).join(',');
    if (criteria === undefined && !folder && !isZip) {
      throw validationFailed('Name the criteria in Upload-Metadata (criteria)', [
        { path: 'headers.upload-metadata', message: 'criteria is required for a file outside a folder' },
      ]);
    }
    const held = await heldBytes(trx, applicationId);
    if (held + length > limits.maxApplicationBytes) throw applicationFull(limits, held);
    return trx
      .insertInto('evidence_uploads')
      .values({
        id: randomBytes(16).toString('hex'),
        application_id: applicationId,
        created_by: p.userId,
        length,
        filename,
        criteria: criteria ?? null,
        relative_path: folder ? (declared.relativePath ?? null) : null,
        expires_at: expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/**
 * An upload under way, for the person who began it: the application out of their scope is not found,
 * and someone who is not a member of the applying organisation is forbidden, exactly as for an upload.
 */
export async function findResumableUpload(
  db: Db,
  p: Principal,
  applicationId: string,
  uploadId: string,
): Promise<ResumableUpload> {
  const access = await loadApplicationAccess(db, p, applicationId);
  if (!access.relations.has('applicant')) {
    throw forbidden('Only members of the applying organisation upload evidence');
  }
  const row = await db
    .selectFrom('evidence_uploads')
    .selectAll()
    .where('id', '=', uploadId)
    .where('application_id', '=', applicationId)
    .where('created_by', '=', p.userId)
    .executeTakeFirst();
  if (!row) throw notFound('upload');
  return row;
}

/**
 * Files a finished upload through the same intake as any file (type, limits, hash, duplicates, rows
 * and history in one transaction). On a store that keeps its objects on the disk the partial file is
 * on, that file is filed where it lies (EvidenceStore.adopt) instead of being written a second time,
 * and the hash its door took as the bytes arrived (`sha256`) spares reading it for its hash again;
 * only when its cleaning keeps every byte where it is (see `fileInPlace`). The reservation goes
 * whatever happens; the caller removes the partial file if it is still there.
 */
export async function finishResumableUpload(
  deps: EvidenceDeps,
  p: Principal,
  upload: ResumableUpload,
  partial: { path: string; sha256?: string; open: () => Promise<Readable> },
): Promise<UploadResult> {
  let adopted: AdoptedFile | null = null;
  try {
    adopted = await fileInPlace(deps, partial);
    const inPlace = adopted;
    return await uploadEvidence(
      deps,
      p,
      upload.application_id,
      async () => ({
        criteria: upload.criteria ?? undefined,
        // A file of a chosen folder is filed by its folders when they name criteria, as a folder upload is.
        criteriaAreDefault: upload.relative_path !== null,
        files: [
          {
            filename: upload.relative_path ?? upload.filename,
            stream: inPlace?.bytes ?? (await partial.open()),
            truncated: () => false,
            adopted: inPlace?.object,
          },
        ],
      }),
      upload.id,
    );
  } finally {
    await forgetResumableUpload(deps.db, upload.id);
    // Filed, it was committed (and this does nothing); refused, or a zip unpacked: its file goes.
    await adopted?.object.discard().catch((err) => {
      deps.log?.warn({ err, uploadId: upload.id }, 'could not remove a finished upload that was not filed');
    });
  }
}

/**
 * The finished file taken where it lies, when the store keeps objects on its disk and the location
 * cleaning would not move its bytes (a movie, a HEIF image, a document: see `cleaningKeepsLength`); a
 * photo, whose cleaning may remove or lengthen a block, is copied, as is any file the store could not
 * take (the partial directory on another file system, say).
 */
async function fileInPlace(
  deps: EvidenceDeps,
  partial: { path: string; sha256?: string },
): Promise<AdoptedFile | null> {
  if (!deps.store.adopt) return null;
  try {
    if (deps.stripLocation) {
      const handle = await open(partial.path, 'r');
      const head = Buffer.alloc(16);
      const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
      if (!cleaningKeepsLength(head.subarray(0, bytesRead))) return null;
    }
    return await deps.store.adopt(partial.path, { sha256: partial.sha256 });
  } catch (err) {
    deps.log?.warn({ err }, 'a finished upload could not be filed where it lies: it is copied');
    return null;
  }
}

/** Drops an upload's reservation (finished, terminated or expired). */
export async function forgetResumableUpload(db: DbOrTrx, uploadId: string): Promise<void> {
  await db.deleteFrom('evidence_uploads').where('id', '=', uploadId).execute();
}

/** Uploads whose time ran out by `now`, oldest first. */
export async function expiredResumableUploads(db: DbOrTrx, now: Date, max = 500): Promise<string[]> {
  const rows = await db
    .selectFrom('evidence_uploads')
    .select('id')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(max)
    .execute();
  return rows.map((r) => r.id);
}
