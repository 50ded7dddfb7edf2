import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Multipart } from '@fastify/multipart';
import { sql } from 'kysely';
import { type ApplicationAccess, loadApplicationAccess } from '../applications/access.ts';
import { appendApplicationHistory } from '../applications/history.ts';
import type { Config } from '../config.ts';
import type { Db, DbOrTrx } from '../db/index.ts';
import type { Principal } from '../http/auth.ts';
import { forbidden, notFound, Problem, validationFailed } from '../http/problem.ts';
import {
  type ByteRange,
  type EvidenceStore,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type PendingObject,
} from '../storage/store.ts';
import { applicationStateString, canAddEvidence, canDeleteEvidence } from '../../workflows/index.ts';
import { inspectMediaType } from './media-types.ts';
import type { EvidenceView } from './schemas.ts';

export type EvidenceDeps = {
  db: Db;
  store: EvidenceStore;
  limits: Config['limits'];
  /** Where failures that must not fail the request (a leftover file) are reported. */
  log?: { warn: (details: object, message: string) => void };
};

type EvidenceRow = {
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
] as const;

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
  };
}

// ---------------------------------------------------------------------------------------------------
// Queries the workflow runner uses for SUBMIT and RESUBMIT facts

/** Non-deleted evidence files per criterion code; codes with none are absent. */
export async function evidenceCountsByCriterion(
  db: DbOrTrx,
  applicationId: string,
): Promise<Record<string, number>> {
  const rows = await sql<{ code: string; n: number | string }>`
    select c.code, count(*) as n
    from evidence e cross join lateral unnest(e.criteria) as c(code)
    where e.application_id = ${applicationId} and e.deleted_at is null
    group by c.code`.execute(db);
  return Object.fromEntries(rows.rows.map((r) => [r.code, Number(r.n)]));
}

/**
 * Criterion codes that received evidence after `sinceIso` and still have it: a new file, or an existing
 * file newly filed under the criterion (the same bytes uploaded again for another criterion count for
 * that criterion). Read from the upload history lines, which record what each upload added.
 */
export async function criteriaWithEvidenceSince(
  db: DbOrTrx,
  applicationId: string,
  sinceIso: string,
): Promise<string[]> {
  const rows = await sql<{ code: string }>`
    select distinct c.code
    from application_events h
    join evidence e on e.id::text = h.payload->>'evidenceId' and e.deleted_at is null
    cross join lateral jsonb_array_elements_text(coalesce(h.payload->'addedCriteria', h.payload->'criteria')) as c(code)
    where h.application_id = ${applicationId}
      and h.type = 'EVIDENCE_UPLOADED'
      and h.at > ${new Date(sinceIso)}
      and c.code = any(e.criteria)
    order by c.code`.execute(db);
  return rows.rows.map((r) => r.code);
}

async function storedBytes(db: DbOrTrx, applicationId: string): Promise<number> {
  const row = await db
    .selectFrom('evidence')
    .select(sql<string | number>`coalesce(sum(size), 0)`.as('total'))
    .where('application_id', '=', applicationId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.total);
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
  let q = db
    .selectFrom('evidence')
    .select(EVIDENCE_COLUMNS)
    .where('application_id', '=', applicationId)
    .where('deleted_at', 'is', null);
  if (filter.criterion) q = q.where(sql<boolean>`${filter.criterion} = any(criteria)`);
  const rows = await q.orderBy('created_at').orderBy('id').execute();
  return rows.map(evidenceView);
}

async function findEvidence(db: DbOrTrx, applicationId: string, evidenceId: string): Promise<EvidenceRow> {
  const row = await db
    .selectFrom('evidence')
    .select(EVIDENCE_COLUMNS)
    .where('application_id', '=', applicationId)
    .where('id', '=', evidenceId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound('evidence');
  return row;
}

export async function getEvidence(db: DbOrTrx, p: Principal, applicationId: string, evidenceId: string) {
  await loadApplicationAccess(db, p, applicationId);
  return evidenceView(await findEvidence(db, applicationId, evidenceId));
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
  const row = await findEvidence(db, applicationId, evidenceId);
  const item = evidenceView(row);
  const range = rangeFor(item);
  if (!withBody || range.kind === 'unsatisfiable') return { item, range, stream: null };
  let stream: Readable;
  try {
    stream = await store.open(row.storage_key, range.kind === 'partial' ? range.range : undefined);
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      throw new Problem('not-found', 'The file of this evidence is no longer stored');
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
    throw new Problem(
      'illegal-transition',
      `Evidence cannot be added while the application is ${applicationStateString(access.snapshot)}`,
    );
  }
}

const tooLarge = (detail: string, limit: string, value: number) =>
  new Problem('payload-too-large', detail, { limit, limitValue: value });

/** Errors from parsing the multipart stream, as problems; anything else (disk, database) is left as it is. */
function multipartProblem(err: unknown, limits: Config['limits']): unknown {
  if (err instanceof Problem) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_FILES_LIMIT':
      return tooLarge(
        `At most ${limits.maxFilesPerRequest} files can be uploaded in one request`,
        'maxFilesPerRequest',
        limits.maxFilesPerRequest,
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(
        `A file is larger than ${limits.maxFileBytes} bytes`,
        'maxFileBytes',
        limits.maxFileBytes,
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new Problem('payload-too-large', 'The form has too many fields or parts');
    case 'FST_MP_PREMATURE_CLOSE':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNRESET':
      return validationFailed('The upload was cut short before the end of the multipart body');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return err;
  // busboy reports a malformed body with plain errors; system and database errors carry a code.
  if (err instanceof Error && e.code === undefined) {
    return validationFailed(`The multipart body is malformed: ${err.message}`);
  }
  return err;
}

type ReceivedFile = {
  object: PendingObject;
  filename: string;
  mediaType: string;
  size: number;
  sha256: string;
};

/**
 * Receives `criteria` then one or more files (SPEC §5, §6). Each file streams to a temporary object
 * while it is hashed and its type is checked; only when every file is in does one transaction file
 * them: new bytes become rows (their objects committed into place first), bytes the application
 * already has only gain the new criteria. Any failure keeps nothing of the request.
 */
export async function uploadEvidence(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  parts: AsyncIterable<Multipart>,
): Promise<EvidenceView[]> {
  const { db, store, limits } = deps;
  // Refuse before reading a byte of the body when the caller may not upload at all.
  const access = await loadApplicationAccess(db, p, applicationId);
  assertMayAddEvidence(access);
  const allowedCodes = access.snapshot.context.criteriaCodes;
  const bytesBefore = await storedBytes(db, applicationId);
  let bytesSoFar = bytesBefore;

  const pending: PendingObject[] = [];
  const received: ReceivedFile[] = [];
  let criteria: string[] | null = null;
  const committedKeys: string[] = [];
  let transactionBodyDone = false;
  try {
    try {
      for await (const part of parts) {
        if (part.type === 'field') {
          if (part.fieldname !== 'criteria') {
            throw validationFailed(`Unknown form field "${part.fieldname}": send "criteria", then the files`);
          }
          if (criteria !== null || received.length > 0) {
            throw validationFailed('Send the criteria field once, before the files');
          }
          criteria = parseCriteria(part.value, allowedCodes);
          continue;
        }
        const filename = sanitiseFilename(part.filename);
        if (criteria === null) {
          throw validationFailed('Send the criteria field before the files', [
            { path: 'body.criteria', message: 'missing before the first file' },
          ]);
        }
        if (received.length >= limits.maxFilesPerRequest)
          throw multipartProblem({ code: 'FST_FILES_LIMIT' }, limits);
        const object = await store.begin();
        pending.push(object);
        const inspection = inspectMediaType(part.file, filename);
        const allowance = limits.maxApplicationBytes - bytesSoFar;
        let written: { size: number; sha256: string };
        try {
          written = await object.write(inspection.stream, { maxBytes: allowance });
        } catch (err) {
          if (err instanceof ObjectTooLargeError) {
            throw tooLarge(
              `The application's evidence would exceed ${limits.maxApplicationBytes} bytes (it holds ${bytesBefore})`,
              'maxApplicationBytes',
              limits.maxApplicationBytes,
            );
          }
          throw err;
        }
        // busboy stops a file at `fileSize` bytes and flags it: known only once the stream is read.
        if (part.file.truncated) {
          throw tooLarge(
            `"${filename}" is larger than the limit of ${limits.maxFileBytes} bytes a file`,
            'maxFileBytes',
            limits.maxFileBytes,
          );
        }
        if (written.size === 0) throw validationFailed(`"${filename}" is empty`);
        bytesSoFar += written.size;
        received.push({ object, filename, mediaType: inspection.result(), ...written });
      }
    } catch (err) {
      throw multipartProblem(err, limits);
    }
    if (criteria === null) {
      throw validationFailed('The criteria field is missing', [
        { path: 'body.criteria', message: 'required' },
      ]);
    }
    if (received.length === 0) throw validationFailed('Send at least one file after the criteria field');
    const codes: string[] = criteria;

    const rows = await db.transaction().execute(async (trx) => {
      // The row lock serialises uploads to one application: totals and duplicates are exact.
      const locked = await loadApplicationAccess(trx, p, applicationId, { forUpdate: true });
      assertMayAddEvidence(locked);
      const unique = new Map<string, ReceivedFile>();
      for (const file of received) if (!unique.has(file.sha256)) unique.set(file.sha256, file);
      const existing = await trx
        .selectFrom('evidence')
        .select(EVIDENCE_COLUMNS)
        .where('application_id', '=', applicationId)
        .where('deleted_at', 'is', null)
        .where('sha256', 'in', [...unique.keys()])
        .execute();
      const existingBySha = new Map(existing.map((row) => [row.sha256, row]));
      const newBytes = [...unique.values()]
        .filter((f) => !existingBySha.has(f.sha256))
        .reduce((n, f) => n + f.size, 0);
      const before = await storedBytes(trx, applicationId);
      if (before + newBytes > limits.maxApplicationBytes) {
        throw tooLarge(
          `The application's evidence would exceed ${limits.maxApplicationBytes} bytes (it holds ${before})`,
          'maxApplicationBytes',
          limits.maxApplicationBytes,
        );
      }
      const round = locked.snapshot.context.round;
      const out: EvidenceRow[] = [];
      for (const file of unique.values()) {
        const duplicate = existingBySha.get(file.sha256);
        let row: EvidenceRow;
        let addedCriteria: string[];
        if (duplicate) {
          // The same bytes are stored once: the existing file is also filed under the new criteria.
          addedCriteria = codes.filter((c) => !duplicate.criteria.includes(c));
          row = duplicate;
          if (addedCriteria.length > 0) {
            row = await trx
              .updateTable('evidence')
              .set({ criteria: [...duplicate.criteria, ...addedCriteria] })
              .where('id', '=', duplicate.id)
              .returning(EVIDENCE_COLUMNS)
              .executeTakeFirstOrThrow();
          }
        } else {
          const key = randomUUID();
          await file.object.commit(key);
          committedKeys.push(key);
          addedCriteria = codes;
          row = await trx
            .insertInto('evidence')
            .values({
              id: key,
              application_id: applicationId,
              filename: file.filename,
              media_type: file.mediaType,
              size: file.size,
              sha256: file.sha256,
              storage_key: key,
              criteria: codes,
              round,
              uploaded_by: p.userId,
            })
            .returning(EVIDENCE_COLUMNS)
            .executeTakeFirstOrThrow();
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
            ...(duplicate ? { duplicate: true } : {}),
          },
        });
        out.push(row);
      }
      transactionBodyDone = true;
      return out;
    });
    return rows.map(evidenceView);
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
    const access = await loadApplicationAccess(trx, p, applicationId, { forUpdate: true });
    if (!access.relations.has('applicant') && !access.relations.has('admin')) {
      throw forbidden('Only members of the applying organisation (or an admin) delete evidence');
    }
    const row = await findEvidence(trx, applicationId, evidenceId);
    if (!canDeleteEvidence(access.snapshot)) {
      throw new Problem(
        'illegal-transition',
        `Evidence can be deleted only in a draft that was never submitted; the application is ${applicationStateString(access.snapshot)}`,
      );
    }
    await trx
      .updateTable('evidence')
      .set({ deleted_at: sql<Date>`now()` })
      .where('id', '=', row.id)
      .execute();
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
