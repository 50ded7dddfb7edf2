import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromBuffer } from 'file-type';
import { DomainError, validationFailed } from '../../domain/errors.ts';
import { reserveTempFile } from '../../storage/local.ts';
import { ObjectTooLargeError } from '../../storage/store.ts';
import { HEAD_BYTES, refuseActiveName } from '../media-types.ts';
import { criteriaOfSet } from '../repository.ts';
import { folderMapper, type OpenedArchive, openFolderArchive, type SkippedEntry } from '../zip.ts';
import type { Intake } from './context.ts';
import { sanitiseFilename } from './filenames.ts';
import type { IncomingFile } from './incoming.ts';
import { zipTooLarge } from './limits.ts';
import { type ReceivedBytes, type ReceivedFile, receiveFile } from './receive.ts';

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

/**
 * Whether an incoming file is a folder archive (SPEC §6: a plain zip; a DOCX, ODT … is a zip too, but
 * a file), from its first bytes; `file` is the same file to read from its start.
 */
export async function sniffFolderArchive(
  incoming: IncomingFile,
): Promise<{ folderArchive: boolean; file: IncomingFile }> {
  const { head, stream } = await peek(incoming.stream, HEAD_BYTES);
  const file = { ...incoming, stream };
  if (!head.subarray(0, 4).equals(ZIP_SIGNATURE)) return { folderArchive: false, file };
  return { folderArchive: (await fileTypeFromBuffer(head))?.mime === 'application/zip', file };
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

/** A problem with a zip entry names the entry, so the school knows which file to fix. */
function namingEntry(err: unknown, path: string): DomainError {
  if (err instanceof DomainError)
    return new DomainError(err.code, err.message, { ...err.extra, entry: path });
  return new DomainError(
    'validation-failed',
    `The zip entry "${path}" cannot be read: ${(err as Error).message}`,
    { entry: path, reason: 'corrupt' },
  );
}

/**
 * Expands a folder archive into received files: the zip is spooled to a scratch file (its table of
 * contents is at its end), checked as a whole (src/evidence/zip.ts), and each entry in a criterion or
 * process folder is received like a file sent on its own, filed under that folder's criteria. What is
 * not filed is listed in `skipped`; a problem with an entry names it.
 */
export async function expandArchive(
  intake: Intake,
  zipFile: IncomingFile,
): Promise<{ received: ReceivedFile[]; skipped: SkippedEntry[] }> {
  const { db, limits, zipLimits, scratchDir } = intake.deps;
  const spooled = await reserveTempFile(scratchDir);
  let archive: OpenedArchive | null = null;
  try {
    try {
      await spool(zipFile.stream, spooled.path, zipLimits.maxZipBytes);
    } catch (err) {
      if (err instanceof ObjectTooLargeError) throw zipTooLarge(zipLimits.maxZipBytes);
      throw err;
    }
    if (zipFile.truncated()) throw zipTooLarge(zipLimits.maxZipBytes);
    const criteria = await criteriaOfSet(db, intake.criteriaSetId);
    const mapper = folderMapper(criteria.filter((c) => intake.criteriaCodes.includes(c.code)));
    archive = await openFolderArchive(
      spooled.path,
      { ...zipLimits, maxFileBytes: limits.maxFileBytes },
      mapper,
    );
    // Names are checked for every entry to be filed before a single one is extracted.
    for (const entry of archive.entries) {
      try {
        refuseActiveName(sanitiseFilename(entry.filename), entry.path);
      } catch (err) {
        throw namingEntry(err, entry.path);
      }
    }
    const received: ReceivedFile[] = [];
    const skipped = [...archive.skipped];
    for (const entry of archive.entries) {
      let file: ReceivedBytes;
      try {
        const stream = await archive.openEntry(entry);
        file = await receiveFile(
          intake,
          { filename: entry.filename, stream, truncated: () => false },
          entry.path,
        );
      } catch (err) {
        throw namingEntry(err, entry.path);
      }
      if (file.size === 0) {
        skipped.push({ path: entry.path, reason: 'the file is empty' });
        continue;
      }
      received.push({ ...file, criteria: entry.criteria, archivePath: entry.path });
    }
    if (archive.entries.length === 0) {
      throw validationFailed(
        `The zip archive has no files inside criterion folders (${intake.criteriaCodes.join(', ')}) or process folders (Learn, Embed, Share)`,
        skipped.map((s) => ({ path: s.path, message: s.reason })),
      );
    }
    return { received, skipped };
  } finally {
    archive?.close();
    await spooled.release();
  }
}
