import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { Config } from '../config.ts';
import { DomainError } from '../domain/errors.ts';

/**
 * Evidence folders sent as one zip (SPEC §6): the archive is first spooled to a local temp file (a
 * zip's table of contents is at its end, so it cannot be trusted read front to back), then its
 * central directory is checked as a whole before a single entry is extracted, then each entry is
 * streamed out on its own. Nothing is held whole in memory.
 */

export type ZipLimits = Config['zipLimits'] & { maxFileBytes: number };

/** A file of the archive to file as evidence under `criteria`. */
export type ArchiveEntry = { path: string; filename: string; criteria: string[]; size: number; entry: Entry };
/** A file of the archive that is not filed, and why (reported back to the uploader). */
export type SkippedEntry = { path: string; reason: string };

/**
 * Compression ratios are judged only on entries (and archives) expanding to at least this much: small
 * text compresses well.
 */
const RATIO_APPLIES_FROM = 1024 * 1024;

const ARCHIVE_EXTENSIONS =
  /\.(zip|zipx|rar|7z|tar|tgz|gz|bz2|tbz2|xz|txz|zst|lz|lzma|z|cab|iso|dmg|jar|war|apk|arj|lzh|ace)$/i;

// What operating systems add to a folder when it is zipped (or chosen in a browser); never evidence.
export const SYSTEM_FILE = /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)/i;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

const refused = (path: string, reason: string, detail: string) =>
  new DomainError('validation-failed', `The zip entry "${path}" is refused: ${detail}`, {
    entry: path,
    reason,
  });

const overLimit = (detail: string, limit: string, value: number, entry?: string) =>
  new DomainError('payload-too-large', detail, { limit, limitValue: value, ...(entry ? { entry } : {}) });

/** Entry names are bytes: UTF-8 when flagged (or when they decode as such), else the legacy code page. */
function decodeName(entry: Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  if (typeof raw === 'string') return raw;
  if (entry.generalPurposeBitFlag & 0x800) return raw.toString('utf8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(
      path,
      // Names are checked here (to name the entry in the refusal); sizes are enforced while inflating.
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true },
      (err, zip) => (err || !zip ? reject(err) : resolve(zip)),
    ),
  );
}

function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** Criterion codes for a top folder name (a code, or a process name, any case), or null. */
export type FolderMapper = (folder: string) => string[] | null;

export type OpenedArchive = {
  entries: ArchiveEntry[];
  skipped: SkippedEntry[];
  /** The entry's bytes, read once; the archive's expansion is counted across entries. */
  openEntry(entry: ArchiveEntry): Promise<AsyncIterable<Uint8Array>>;
  close(): void;
};

/**
 * Opens a spooled zip and plans it: every entry is checked, and the whole archive refused with a
 * problem naming the first bad entry (path traversal, absolute path, link or special file,
 * encryption, nested archive, unsupported compression, limits); good entries are mapped to criteria
 * by their top folder. A single wrapping folder (what zipping a folder gives) is looked through.
 */
export async function openFolderArchive(
  path: string,
  limits: ZipLimits,
  mapFolder: FolderMapper,
): Promise<OpenedArchive> {
  let zip: ZipFile;
  try {
    zip = await openZip(path);
  } catch (err) {
    throw new DomainError('validation-failed', `The zip archive cannot be read: ${(err as Error).message}`);
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw overLimit(
        `The zip archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted`,
        'zipMaxEntries',
        limits.maxEntries,
      );
    }
    let raw: Entry[];
    try {
      raw = await readEntries(zip);
    } catch (err) {
      throw new DomainError('validation-failed', `The zip archive cannot be read: ${(err as Error).message}`);
    }
    const files: { path: string; entry: Entry }[] = [];
    const skipped: SkippedEntry[] = [];
    let total = 0;
    for (const entry of raw) {
      const name = decodeName(entry);
      const shown = name.replace(/[\p{Cc}]/gu, '?');
      if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) {
        throw refused(shown, 'absolute-path', 'absolute paths are not allowed');
      }
      const segments = name.replace(/\\/g, '/').split('/');
      if (segments.includes('..'))
        throw refused(shown, 'path-traversal', 'it climbs out of the archive with ".."');
      if (name.includes('\0')) throw refused(shown, 'invalid-name', 'the name contains a NUL character');
      const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (mode === S_IFLNK) throw refused(shown, 'symlink', 'symbolic links are not allowed');
      const isDirectory = name.endsWith('/') || name.endsWith('\\') || mode === S_IFDIR;
      if (mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) {
        throw refused(shown, 'special-file', 'only regular files and folders are allowed');
      }
      if (entry.generalPurposeBitFlag & 0x1)
        throw refused(shown, 'encrypted', 'encrypted entries are not accepted');
      if (isDirectory) continue;
      if (SYSTEM_FILE.test(name)) {
        skipped.push({ path: shown, reason: 'a file the operating system adds, not evidence' });
        continue;
      }
      if (ARCHIVE_EXTENSIONS.test(name)) {
        throw refused(shown, 'nested-archive', 'archives inside the archive are not accepted');
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw refused(
          shown,
          'unsupported-compression',
          `compression method ${entry.compressionMethod} is not supported`,
        );
      }
      if (entry.uncompressedSize > limits.maxFileBytes) {
        throw overLimit(
          `The zip entry "${shown}" is larger than the limit of ${limits.maxFileBytes} bytes a file`,
          'maxFileBytes',
          limits.maxFileBytes,
          shown,
        );
      }
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
      if (entry.uncompressedSize >= RATIO_APPLIES_FROM && ratio > limits.maxCompressionRatio) {
        throw overLimit(
          `The zip entry "${shown}" expands ${Math.round(ratio)} times; at most ${limits.maxCompressionRatio} is accepted (a decompression bomb?)`,
          'zipMaxCompressionRatio',
          limits.maxCompressionRatio,
          shown,
        );
      }
      total += entry.uncompressedSize;
      if (total > limits.maxUncompressedBytes) {
        throw overLimit(
          `The zip archive expands to more than ${limits.maxUncompressedBytes} bytes`,
          'zipMaxUncompressedBytes',
          limits.maxUncompressedBytes,
        );
      }
      files.push({ path: shown, entry });
    }
    // Entries that each pass may still add up to a bomb: many sharing one compressed run (overlapping
    // entries), or many just under the size from which each is judged. The archive is judged whole.
    const overall = total / Math.max(1, zip.fileSize);
    if (total >= RATIO_APPLIES_FROM && overall > limits.maxCompressionRatio) {
      throw overLimit(
        `The zip archive expands ${Math.round(overall)} times (${zip.fileSize} bytes to ${total}); at most ${limits.maxCompressionRatio} is accepted (a decompression bomb?)`,
        'zipMaxCompressionRatio',
        limits.maxCompressionRatio,
      );
    }

    // "Evidence/L1/…", "Evidence/E2/…": zipping the folder itself adds one wrapping folder.
    const tops = new Set(files.map((f) => f.path.split('/')[0]));
    const strip =
      tops.size === 1 &&
      files.every((f) => f.path.includes('/')) &&
      mapFolder([...tops][0] as string) === null;
    const entries: ArchiveEntry[] = [];
    for (const file of files) {
      const segments = file.path.split('/').filter((s) => s !== '' && s !== '.');
      const inside = strip ? segments.slice(1) : segments;
      const criteria = inside.length > 1 ? mapFolder(inside[0] as string) : null;
      if (!criteria) {
        skipped.push({
          path: file.path,
          reason:
            inside.length > 1
              ? `the folder "${inside[0]}" is not a criterion code or process name of this application`
              : 'not inside a criterion or process folder',
        });
        continue;
      }
      entries.push({
        path: file.path,
        filename: segments[segments.length - 1] as string,
        criteria,
        size: file.entry.uncompressedSize,
        entry: file.entry,
      });
    }

    const opened = zip;
    // What the entries really expanded to so far. Each entry is held to the size its headers declare
    // (validateEntrySizes) and those sizes were added up above; this counts the bytes themselves, so
    // the archive's total holds even if an entry's own check did not.
    let expanded = 0;
    const countedTowardsTotal = async function* (stream: Readable, path: string) {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        expanded += chunk.length;
        if (expanded > limits.maxUncompressedBytes) {
          throw overLimit(
            `The zip archive expands to more than ${limits.maxUncompressedBytes} bytes`,
            'zipMaxUncompressedBytes',
            limits.maxUncompressedBytes,
            path,
          );
        }
        yield chunk;
      }
    };
    return {
      entries,
      skipped,
      openEntry: (item) =>
        new Promise<AsyncIterable<Uint8Array>>((resolve, reject) =>
          opened.openReadStream(item.entry, (err, stream) => {
            if (err || !stream) return reject(err);
            // yauzl may report a size mismatch again after the reader gave up: the first report is enough.
            stream.on('error', () => {});
            resolve(countedTowardsTotal(stream, item.path));
          }),
        ),
      close: () => opened.close(),
    };
  } catch (err) {
    zip.close();
    throw err;
  }
}

/** Maps a folder name to criteria: a criterion code (`L1`) or a process name (`Learn`), any case. */
export function folderMapper(criteria: readonly { code: string; process: string }[]): FolderMapper {
  return (folder) => {
    const name = folder.trim().toLowerCase();
    const byCode = criteria.find((c) => c.code.toLowerCase() === name);
    if (byCode) return [byCode.code];
    const byProcess = criteria.filter((c) => c.process.toLowerCase() === name).map((c) => c.code);
    return byProcess.length > 0 ? byProcess : null;
  };
}
