import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';
import type { S3Server } from './s3.ts';
import { useWorld } from './setup.ts';

export type StorageKind = 'local' | 's3';

/** Every file below `path` (none when it does not exist), by full path. */
export async function filesUnder(path: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

/**
 * One storage for an app under test, and what is in it: `committed` object keys, and `temporary`
 * leftovers (temp objects, unfinished multipart uploads, scratch files such as spooled zips).
 */
export async function storageForTest(kind: StorageKind, s3?: S3Server) {
  const dir = await mkdtemp(join(tmpdir(), `sa-${kind}-`));
  const s3Env = kind === 's3' ? (s3 as S3Server).env() : {};
  const bucket = s3Env.S3_BUCKET;
  const env: Record<string, string> = { EVIDENCE_DIR: dir, ...s3Env };
  const scratch = async () =>
    (await filesUnder(join(dir, '.tmp'))).map((p) => `scratch:${p.split('/').pop()}`);
  return {
    kind,
    env,
    dir,
    async committed(): Promise<string[]> {
      if (kind === 's3') {
        return (await (s3 as S3Server).keys(bucket as string))
          .filter((k) => k.startsWith('objects/'))
          .map((k) => k.slice('objects/'.length));
      }
      return (await filesUnder(dir))
        .filter((p) => !p.includes('/.tmp/'))
        .map((p) => p.split('/').pop() as string);
    },
    async temporary(): Promise<string[]> {
      const stored =
        kind === 's3'
          ? (await (s3 as S3Server).keys(bucket as string)).filter((k) => !k.startsWith('objects/'))
          : [];
      return [...stored, ...(await scratch())];
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type StorageUnderTest = Awaited<ReturnType<typeof storageForTest>>;

/**
 * The test app and its world on one kind of evidence store (for S3, a bucket of its own on the server
 * `s3()` gives once it is started), with `env` besides; the store is emptied after the file.
 */
export function useWorldOnStorage(kind: StorageKind, s3: () => S3Server, env: Record<string, string> = {}) {
  let storage: StorageUnderTest | undefined;
  const { t, w } = useWorld(async () => {
    storage = await storageForTest(kind, s3());
    return { ...storage.env, ...env };
  });
  afterAll(async () => {
    await storage?.cleanup();
  });
  return { t, w, storage: () => storage as StorageUnderTest };
}
