import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { adoptFile } from './in-place.ts';
import {
  type AdoptedFile,
  assertValidKey,
  type ByteRange,
  type EvidenceStore,
  meteringStream,
  ObjectNotFoundError,
  type PendingObject,
  type WrittenObject,
} from './store.ts';
import { WriteBehindFile } from './write-behind.ts';

const TEMP_DIR = '.tmp';
const TEMP_SUFFIX = '.part';
export const THIS_HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
const HOUR = 60 * 60 * 1000;

// Temp files this process is writing right now: never mistaken for abandoned ones.
const liveTempFiles = new Set<string>();

const isMissing = (err: unknown) => (err as { code?: string }).code === 'ENOENT';

/**
 * Evidence under a local directory: `<dir>/<k0k1>/<k2k3>/<key>`, so no directory grows past a few
 * thousand entries at a million files. Uploads go to `<dir>/.tmp/<host>~<pid>~<uuid>.part` and are
 * renamed into place (same file system, so the rename is atomic).
 */
export class LocalEvidenceStore implements EvidenceStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(key: string): string {
    assertValidKey(key);
    return join(this.dir, key.slice(0, 2), key.slice(2, 4), key);
  }

  async begin(): Promise<PendingObject> {
    const temp = await reserveTempFile(this.dir);
    let state: 'new' | 'writing' | 'written' | 'committed' | 'discarded' = 'new';

    return {
      write: async (source, options = {}): Promise<WrittenObject> => {
        if (state !== 'new') throw new Error(`cannot write a pending object that is ${state}`);
        state = 'writing';
        const { meter, written } = meteringStream(options.maxBytes);
        // Flushed as it is written and fsynced before it finishes: a committed object survives a power cut.
        await pipeline(source, meter, new WriteBehindFile(temp.path, { flags: 'wx' }));
        state = 'written';
        return written();
      },
      commit: async (key) => {
        if (state !== 'written') throw new Error(`cannot commit a pending object that is ${state}`);
        await this.place(temp.path, key);
        state = 'committed';
        await temp.release();
      },
      discard: async () => {
        if (state === 'committed' || state === 'discarded') return;
        state = 'discarded';
        await temp.release();
      },
    };
  }

  /**
   * The file is first moved among this store's temp files: from then on it is the store's, removed at
   * the next start should the process die before it is committed, and never left half-cleaned where
   * its door would take it for a partial upload to resume. A discarded object's file is removed.
   */
  async adopt(path: string, options: { sha256?: string } = {}): Promise<AdoptedFile> {
    const temp = await reserveTempFile(this.dir);
    await rename(path, temp.path).catch(async (err) => {
      await temp.release();
      throw err;
    });
    const adopted = await adoptFile(
      temp.path,
      async (from, key) => {
        await this.place(from, key);
        await temp.release();
      },
      options,
    ).catch(async (err) => {
      // Given back as it was found, for its door to copy or remove.
      await rename(temp.path, path).catch(() => {});
      await temp.release();
      throw err;
    });
    const { discard } = adopted.object;
    adopted.object.discard = async () => {
      await discard();
      await temp.release();
    };
    return adopted;
  }

  /** Moves a finished temp file to its key's place (same file system: the rename is atomic). */
  private async place(from: string, key: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(from, target);
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    // Opening first turns a missing file into an error here, not in the middle of a response.
    const handle = await open(this.pathOf(key), 'r').catch((err) => {
      throw isMissing(err) ? new ObjectNotFoundError(key) : err;
    });
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  removeAbandonedTemp(options: { staleAfterMs?: number } = {}): Promise<number> {
    return removeAbandonedTempFiles(this.dir, options);
  }

  async sweepOrphans(
    knownKeys: (keys: string[]) => Promise<Set<string>>,
    options: { olderThanMs?: number } = {},
  ): Promise<number> {
    const cutoff = Date.now() - (options.olderThanMs ?? HOUR);
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      const known = await knownKeys(batch);
      for (const key of batch) {
        if (known.has(key)) continue;
        const path = this.pathOf(key);
        const info = await stat(path).catch(() => null);
        if (info && info.mtimeMs < cutoff) {
          await rm(path, { force: true });
          removed++;
        }
      }
      batch = [];
    };
    for (const first of await listDir(this.dir)) {
      if (first === TEMP_DIR || first.length !== 2) continue;
      for (const second of await listDir(join(this.dir, first))) {
        for (const key of await listDir(join(this.dir, first, second))) {
          if (!key.startsWith(first + second) || !/^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$/.test(key)) continue;
          batch.push(key);
          if (batch.length >= 500) await flush();
        }
      }
    }
    if (batch.length > 0) await flush();
    return removed;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isMissing(err) || (err as { code?: string }).code === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * A fresh temp file path under `<root>/.tmp` (created), named so that the start-up sweep removes it
 * should this process die; `release` removes it. For scratch files such as a spooled zip archive.
 * The pending objects' own temp files too (`release` after a commit's rename only forgets the name).
 */
export async function reserveTempFile(root: string): Promise<{ path: string; release: () => Promise<void> }> {
  const tempDir = join(root, TEMP_DIR);
  await mkdir(tempDir, { recursive: true });
  const path = join(tempDir, `${THIS_HOST}~${process.pid}~${randomUUID()}${TEMP_SUFFIX}`);
  liveTempFiles.add(path);
  return {
    path,
    release: async () => {
      await rm(path, { force: true });
      liveTempFiles.delete(path);
    },
  };
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes half-written uploads left by a process that died (SPEC §8: killed mid-upload). Run at
 * start. Several instances may share the directory, so a temp file is removed only when its writer is
 * known dead (same host, process gone, or this very process id from an earlier life), or when it has
 * not been touched for `staleAfterMs` (a writer on another host). Returns how many were removed.
 */
export async function removeAbandonedTempFiles(
  dir: string,
  options: { staleAfterMs?: number } = {},
): Promise<number> {
  const tempDir = join(dir, TEMP_DIR);
  const staleBefore = Date.now() - (options.staleAfterMs ?? HOUR);
  let removed = 0;
  for (const name of await listDir(tempDir)) {
    const path = join(tempDir, name);
    if (liveTempFiles.has(path)) continue;
    const [host, pidText] = name.split('~');
    const pid = Number(pidText);
    const writerDead =
      host === THIS_HOST && Number.isInteger(pid) && (pid === process.pid || !processIsAlive(pid));
    const info = writerDead ? null : await stat(path).catch(() => null);
    if (writerDead || (info && info.mtimeMs < staleBefore)) {
      await rm(path, { force: true, recursive: true });
      removed++;
    }
  }
  return removed;
}
