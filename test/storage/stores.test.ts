import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.ts';
import { cleaningKeepsLength, stripLocation } from '../../src/evidence/location/index.ts';
import { adoptFile } from '../../src/storage/in-place.ts';
import { createEvidenceStore } from '../../src/storage/index.ts';
import type { EvidenceStore } from '../../src/storage/store.ts';
import { FLUSH_AFTER_BYTES, WriteBehindFile } from '../../src/storage/write-behind.ts';
import { gifWithXmp, heicWithLocation, movieWithLocation, pngWithCompressedXmp } from '../helpers/photos.ts';
import { useS3Server } from '../helpers/s3.ts';
import { type StorageKind, type StorageUnderTest, storageForTest } from '../helpers/storage.ts';

/** One contract, two stores: the local directory and a real S3-compatible server on loopback. */
const s3 = useS3Server();

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each<StorageKind>(['local', 's3'])('the %s store', (kind) => {
  let storage: StorageUnderTest;
  let store: EvidenceStore;
  beforeAll(async () => {
    storage = await storageForTest(kind, s3());
    store = await createEvidenceStore(loadConfig({ ...storage.env }));
  });
  afterAll(async () => {
    await storage.cleanup();
  });

  it('nothing is visible under a key until commit; then it reads whole and by range', async () => {
    const pending = await store.begin();
    expect(await pending.write(Readable.from([Buffer.from('hello '), Buffer.from('evidence')]))).toEqual({
      size: 14,
      sha256: sha('hello evidence'),
    });
    expect(await store.exists('aaaa-contract-1')).toBe(false);
    expect(await storage.temporary()).toHaveLength(1);
    await pending.commit('aaaa-contract-1');
    await pending.discard();
    expect(await store.exists('aaaa-contract-1')).toBe(true);
    expect(await storage.temporary()).toEqual([]);
    expect(await text(await store.open('aaaa-contract-1'))).toBe('hello evidence');
    expect(await text(await store.open('aaaa-contract-1', { start: 6, end: 13 }))).toBe('evidence');
    await store.remove('aaaa-contract-1');
    await store.remove('aaaa-contract-1');
    expect(await store.exists('aaaa-contract-1')).toBe(false);
    await expect(store.open('aaaa-contract-1')).rejects.toThrow(/no stored object/);
  });

  it('streams a large object through in parts, hashing on the way', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const pending = await store.begin();
    const written = await pending.write(Readable.from(Array.from({ length: 12 }, () => chunk)));
    const hash = createHash('sha256');
    for (let i = 0; i < 12; i++) hash.update(chunk);
    expect(written).toEqual({ size: 12 * 1024 * 1024, sha256: hash.digest('hex') });
    await pending.commit('bbbb-contract-large');
    const tail = await text(
      await store.open('bbbb-contract-large', { start: 12 * 1024 * 1024 - 3, end: 12 * 1024 * 1024 - 1 }),
    );
    expect(tail).toBe('aaa');
    await store.remove('bbbb-contract-large');
  });

  it('a write over its limit fails; discarding leaves nothing', async () => {
    const pending = await store.begin();
    await expect(
      pending.write(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 }),
    ).rejects.toThrow(/larger than 1000/);
    await pending.discard();
    expect(await storage.temporary()).toEqual([]);
    expect(await storage.committed()).toEqual([]);
  });

  it('sweeps committed objects no row knows, keeping known and young ones', async () => {
    for (const key of ['cccc-known', 'dddd-orphan']) {
      const pending = await store.begin();
      await pending.write(Readable.from([Buffer.from(key)]));
      await pending.commit(key);
    }
    const known = async (keys: string[]) => new Set(keys.filter((k) => k.endsWith('known')));
    expect(await store.sweepOrphans(known)).toBe(0);
    expect(await store.sweepOrphans(known, { olderThanMs: -60_000 })).toBe(1);
    expect((await storage.committed()).sort()).toEqual(['cccc-known']);
    await store.remove('cccc-known');
  });

  if (kind === 'local') {
    it('takes a finished file among its temp files at once; committed it reads back, discarded it leaves nothing', async () => {
      const uploads = join(storage.dir, '.uploads');
      await mkdir(uploads, { recursive: true });
      for (const outcome of ['commit', 'discard'] as const) {
        const partial = join(uploads, `finished-${outcome}`);
        await writeFile(partial, 'a finished resumable upload');
        const adopted = await (store.adopt as NonNullable<EvidenceStore['adopt']>)(partial);
        // Never left where its door would take it for a partial upload to resume.
        await expect(stat(partial)).rejects.toMatchObject({ code: 'ENOENT' });
        expect(await storage.temporary()).toHaveLength(1);
        expect((await adopted.object.write(adopted.bytes)).size).toBe(27);
        if (outcome === 'commit') {
          await adopted.object.commit('eeee-adopted');
          await adopted.object.discard();
          expect(await text(await store.open('eeee-adopted'))).toBe('a finished resumable upload');
          await store.remove('eeee-adopted');
        } else {
          await adopted.object.discard();
        }
        expect(await storage.temporary()).toEqual([]);
      }
    });
  }

  it('at start, removes temp objects of writers that are gone, not those being written', async () => {
    const live = await store.begin();
    await live.write(Readable.from([Buffer.from('still uploading')]));
    expect(await store.removeAbandonedTemp({ staleAfterMs: -60_000 })).toBe(0);
    expect(await storage.temporary()).toHaveLength(1);
    // What a writer killed mid-upload leaves looks like this one once it is no longer live in this process.
    await live.discard();
    expect(await storage.temporary()).toEqual([]);
  });
});

describe('a complete file taken where it lies (a finished resumable upload on the local store)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sa-in-place-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  /** `bytes` as a partial file, taken in place and filed through the location cleaning. */
  async function fileInPlace(bytes: Buffer, readBytes: number, maxBytes?: number) {
    const partial = join(dir, `partial-${++n}`);
    const stored = join(dir, `stored-${n}`);
    await writeFile(partial, bytes);
    const { object, bytes: read } = await adoptFile(partial, (from) => rename(from, stored), { readBytes });
    const cleaning = stripLocation(read);
    const written = await object.write(cleaning.stream, { maxBytes });
    await object.commit('ffff-in-place');
    return {
      written,
      stored: await readFile(stored),
      removed: cleaning.result().removed,
      partial,
      storedPath: stored,
    };
  }
  async function cleaned(original: Buffer): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const chunk of stripLocation(Readable.from([original])).stream) out.push(Buffer.from(chunk));
    return Buffer.concat(out);
  }

  it('gives the cleaned file, whatever the size of its reads, when the cleaning blanks in place', async () => {
    for (const original of [movieWithLocation('mp4'), movieWithLocation('mov'), heicWithLocation()]) {
      expect(cleaningKeepsLength(original.subarray(0, 16))).toBe(true);
      const expected = await cleaned(original);
      expect(expected.equals(original)).toBe(false);
      for (const readBytes of [7, 4096, 1024 * 1024]) {
        const { written, stored, removed } = await fileInPlace(original, readBytes);
        expect(stored.equals(expected)).toBe(true);
        expect(written).toEqual({
          size: expected.length,
          sha256: createHash('sha256').update(expected).digest('hex'),
        });
        expect(removed.length).toBeGreaterThan(0);
      }
    }
  });

  it('refuses, and never corrupts a file, where the cleaning would move bytes (a photo is copied instead)', async () => {
    // A GIF's XMP block is removed (the file shrinks); a PNG's compressed XMP is stored uncompressed (it grows).
    for (const original of [await gifWithXmp(), await pngWithCompressedXmp()]) {
      expect(cleaningKeepsLength(original.subarray(0, 16))).toBe(false);
      for (const readBytes of [7, 4096, 1024 * 1024]) {
        await expect(fileInPlace(original, readBytes)).rejects.toThrow(/not yet read|written over a file of/);
      }
    }
  });

  it('leaves a file the cleaning does not change unwritten: same file, same modification time', async () => {
    const original = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3 * 1024 * 1024)]);
    const partial = join(dir, 'untouched');
    await writeFile(partial, original);
    const before = await stat(partial);
    const { object, bytes } = await adoptFile(partial, async () => {});
    expect((await object.write(stripLocation(bytes).stream)).size).toBe(original.length);
    const after = await stat(partial);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect((await readFile(partial)).equals(original)).toBe(true);
    await object.commit('ffff-untouched');
  });

  it("takes its door's hash when the cleaning changed nothing, and hashes the cleaned file when it did", async () => {
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const plain = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2 * 1024 * 1024)]);
    const movie = movieWithLocation('mp4');
    // What the door says it computed as the bytes arrived: trusted as it is for a file left as it was.
    const doorsHash = 'd'.repeat(64);
    for (const original of [plain, movie]) {
      const partial = join(dir, `hashed-${++n}`);
      await writeFile(partial, original);
      const { object, bytes } = await adoptFile(partial, async () => {}, { sha256: doorsHash });
      const written = await object.write(stripLocation(bytes).stream);
      const stored = await readFile(partial);
      if (original === plain) {
        expect(stored.equals(original)).toBe(true);
        expect(written).toEqual({ size: original.length, sha256: doorsHash });
      } else {
        expect(stored.equals(original)).toBe(false);
        expect(written).toEqual({ size: stored.length, sha256: digest(stored) });
      }
      await object.commit('ffff-hashed');
    }
  });

  it('over the limit, the write fails and a discarded object leaves the file to its door', async () => {
    const original = randomBytes(100 * 1024);
    const partial = join(dir, 'too-large');
    await writeFile(partial, original);
    const { object, bytes } = await adoptFile(partial, async () => {
      throw new Error('never committed');
    });
    await expect(object.write(bytes, { maxBytes: 50 * 1024 })).rejects.toThrow(/larger than 51200/);
    await object.discard();
    expect((await readFile(partial)).length).toBe(original.length);
  });
});

describe('a file written behind', () => {
  it('is flushed as it grows, continued at an offset, and refuses to overwrite a file it should create', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sa-write-behind-'));
    try {
      const path = join(dir, 'video.bin');
      const first = randomBytes(FLUSH_AFTER_BYTES * 2 + 12345);
      await pipeline(Readable.from(chunksOf(first, 64 * 1024)), new WriteBehindFile(path, { flags: 'wx' }));
      const rest = randomBytes(FLUSH_AFTER_BYTES + 1);
      await pipeline(
        Readable.from(chunksOf(rest, 1024 * 1024)),
        new WriteBehindFile(path, { flags: 'r+', start: first.length }),
      );
      expect((await readFile(path)).equals(Buffer.concat([first, rest]))).toBe(true);
      await expect(
        pipeline(Readable.from([Buffer.from('x')]), new WriteBehindFile(path, { flags: 'wx' })),
      ).rejects.toMatchObject({ code: 'EEXIST' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function* chunksOf(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
