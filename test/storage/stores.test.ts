import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config.ts';
import { createEvidenceStore } from '../../src/storage/index.ts';
import type { EvidenceStore } from '../../src/storage/store.ts';
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
