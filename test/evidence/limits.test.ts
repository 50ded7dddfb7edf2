import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { LocalEvidenceStore, removeAbandonedTempFiles } from '../../src/storage/local.ts';
import { listenOnFreePort } from '../helpers/app.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { filesUnder } from '../helpers/storage.ts';
import {
  type FormPart,
  multipart,
  pdf,
  sendPartOfUpload,
  text,
  uploadOverSocket,
  waitFor,
} from './fixtures.ts';

/**
 * Limits and aborted uploads over a real socket (SPEC §6, ARCHITECTURE "Known pitfalls"): `inject`
 * cannot cut a body short or drop a connection mid-file.
 */
// The app's evidence directory is a fresh temporary one of its own (see startTestApp).
const { t, w } = useWorld({
  MAX_FILE_BYTES: '1024',
  MAX_FILES_PER_REQUEST: '3',
  MAX_APPLICATION_BYTES: '2500',
});
let port: number;
beforeAll(async () => {
  port = await listenOnFreePort(t.app);
});

const draft = () => draftOfNewSchool(t.database.db, w, 'Limits school');

const file = (filename: string, content: Buffer): FormPart => ({ name: 'file', filename, content });
const criteria = (codes: string): FormPart => ({ name: 'criteria', value: codes });

const post = (applicationId: string, parts: FormPart[]) =>
  uploadOverSocket(port, w.applicantA.token, applicationId, parts);

const tempFiles = () => filesUnder(join(t.config.evidenceDir, '.tmp'));

/** Nothing of the application's failed uploads remains: no rows, no temp files, only committed files on disk. */
async function expectNothingKept(applicationId: string, keptRows = 0) {
  const rows = await t.database.db
    .selectFrom('evidence')
    .select('id')
    .where('application_id', '=', applicationId)
    .execute();
  expect(rows).toHaveLength(keptRows);
  await waitFor('temp files to be removed', async () => (await tempFiles()).length === 0);
  const committed = await t.database.db
    .selectFrom('evidence')
    .select('storage_key')
    .where('deleted_at', 'is', null)
    .execute();
  const onDisk = (await filesUnder(t.config.evidenceDir)).map((p) => p.split('/').pop());
  expect(onDisk.sort()).toEqual(committed.map((r) => r.storage_key).sort());
}

describe('limits over a real socket', () => {
  it('a file over the per-file limit → 413 naming the limit; the request keeps nothing', async () => {
    const id = await draft();
    const res = await post(id, [criteria('L1'), file('fine.txt', text(500)), file('big.txt', text(2000))]);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload-too-large');
    expect(res.body.detail).toMatch(/1024 bytes/);
    expect(res.body).toMatchObject({ limit: 'maxFileBytes', limitValue: 1024 });
    await expectNothingKept(id);
  });

  it('a disguised HTML file named .pdf → 415', async () => {
    const id = await draft();
    const res = await post(id, [
      criteria('L1'),
      file('report.pdf', Buffer.from('<html><body><script>alert(1)</script>')),
    ]);
    expect([res.status, res.body.code]).toEqual([415, 'unsupported-media-type']);
    await expectNothingKept(id);
  });

  it('more files than a request may carry → 413', async () => {
    const id = await draft();
    const parts = [criteria('L1'), ...[1, 2, 3, 4].map((n) => file(`f${n}.pdf`, pdf(`too-many-${n}`)))];
    const res = await post(id, parts);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload-too-large', limit: 'maxFilesPerRequest', limitValue: 3 });
    await expectNothingKept(id);
  });

  it('the per-application total → 413, within one request and across requests', async () => {
    const id = await draft();
    const three = await post(id, [criteria('L1'), ...[1, 2, 3].map((n) => file(`n${n}.txt`, text(1000)))]);
    expect(three.status).toBe(413);
    expect(three.body).toMatchObject({ limit: 'maxApplicationBytes', limitValue: 2500 });
    await expectNothingKept(id);
    const two = await post(id, [criteria('L1'), file('a.txt', text(1000)), file('b.txt', text(1000))]);
    expect(two.status).toBe(201);
    const more = await post(id, [criteria('E1'), file('c.txt', text(1000))]);
    expect(more.status).toBe(413);
    expect(more.body.limit).toBe('maxApplicationBytes');
    await expectNothingKept(id, 2);
  });

  it('a client that drops the connection mid-file leaves nothing behind', async () => {
    const id = await draft();
    const { body, contentType } = multipart([criteria('L1'), file('half.txt', text(1000))]);
    const req = sendPartOfUpload(port, w.applicantA.token, id, { body, contentType }, body.length - 400);
    await waitFor('the upload to reach a temp file', async () => (await tempFiles()).length > 0);
    req.destroy();
    await expectNothingKept(id);
  });

  it('a body shorter than its Content-Length, then the end of the stream, leaves nothing behind', async () => {
    const id = await draft();
    const { body, contentType } = multipart([criteria('L1'), file('short.txt', text(1000))]);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `POST /applications/${id}/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${w.applicantA.token}\r\n` +
        `Content-Type: ${contentType}\r\nContent-Length: ${body.length + 500}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length - 300));
    await waitFor('the upload to reach a temp file', async () => (await tempFiles()).length > 0);
    socket.end();
    await expectNothingKept(id);
    socket.destroy();
  });

  it('the server still answers normally afterwards', async () => {
    const id = await draft();
    const res = await post(id, [criteria('S1'), file('after.pdf', pdf('after'))]);
    expect(res.status).toBe(201);
  });
});

describe('the local store on its own', () => {
  it('at start, removes temp files whose writer is gone, keeping those of live writers', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sa-store-'));
    const temp = join(root, '.tmp');
    await mkdir(temp, { recursive: true });
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const dead = join(temp, `${host}~${2 ** 22 + 12345}~a.part`);
    const live = join(temp, `${host}~${process.ppid}~b.part`);
    const otherHostFresh = join(temp, 'elsewhere~1~c.part');
    const otherHostStale = join(temp, 'elsewhere~1~d.part');
    for (const path of [dead, live, otherHostFresh, otherHostStale]) await writeFile(path, 'partial');
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(otherHostStale, longAgo, longAgo);
    expect(await removeAbandonedTempFiles(root)).toBe(2);
    expect((await readdir(temp)).sort()).toEqual(
      ['elsewhere~1~c.part', `${host}~${process.ppid}~b.part`].sort(),
    );
    await rm(root, { recursive: true, force: true });
  });

  it('sweeps committed objects no row knows; discard after commit is harmless', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sa-store-'));
    const store = new LocalEvidenceStore(root);
    const keep = await store.begin();
    await keep.write(Readable.from([Buffer.from('kept')]));
    await keep.commit('aaaabbbb-kept');
    const orphan = await store.begin();
    expect(await orphan.write(Readable.from([Buffer.from('orph'), Buffer.from('an')]))).toEqual({
      size: 6,
      sha256: createHash('sha256').update('orphan').digest('hex'),
    });
    await orphan.commit('ccccdddd-orphan');
    await orphan.discard();
    expect(await store.exists('ccccdddd-orphan')).toBe(true);
    const removed = await store.sweepOrphans(
      async (keys) => new Set(keys.filter((k) => k.endsWith('kept'))),
      { olderThanMs: 0 },
    );
    expect(removed).toBe(1);
    expect(await store.exists('aaaabbbb-kept')).toBe(true);
    expect(await store.exists('ccccdddd-orphan')).toBe(false);
    await expect(store.open('../../etc/passwd')).rejects.toThrow(/invalid storage key/);
    await rm(root, { recursive: true, force: true });
  });

  it('a write over its byte limit fails and leaves only a temp file to discard', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sa-store-'));
    const store = new LocalEvidenceStore(root);
    const pending = await store.begin();
    await expect(
      pending.write(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 }),
    ).rejects.toThrow(/larger than 1000/);
    await pending.discard();
    expect(await filesUnder(root)).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });
});
