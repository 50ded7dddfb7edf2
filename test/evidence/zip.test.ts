import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yauzl from 'yauzl';
import { listenOnFreePort } from '../helpers/app.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { useS3Server } from '../helpers/s3.ts';
import { type StorageKind, useWorldOnStorage } from '../helpers/storage.ts';
import { buildZip, type ZipEntrySpec } from '../helpers/zip.ts';
import { type FormPart, multipart, pdf, png, sendPartOfUpload, text, waitFor } from './fixtures.ts';

/**
 * Evidence folders as one zip, limits and aborts, downloads (ranges, the whole evidence as a zip),
 * over a real socket, against both stores: the local directory and a real S3-compatible server.
 */
const MB = 1024 * 1024;
const LIMITS = {
  MAX_FILE_BYTES: String(4 * MB),
  MAX_APPLICATION_BYTES: String(20 * MB),
  MAX_FILES_PER_REQUEST: '10',
  ZIP_MAX_BYTES: String(5 * MB),
  ZIP_MAX_ENTRIES: '20',
  ZIP_MAX_UNCOMPRESSED_BYTES: String(3 * MB),
  ZIP_MAX_COMPRESSION_RATIO: '100',
};

const s3 = useS3Server();

type Reply = { status: number; body: any; headers: Record<string, unknown>; raw: Buffer };

describe.each<StorageKind>(['local', 's3'])('evidence folders and downloads (%s storage)', (kind) => {
  const { t, w, storage } = useWorldOnStorage(kind, s3, LIMITS);
  let port: number;
  beforeAll(async () => {
    port = await listenOnFreePort(t.app);
  });

  const draft = () => draftOfNewSchool(t.database.db, w, `Zip school ${kind}`);

  function call(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer) {
    return new Promise<Reply>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: { authorization: `Bearer ${w.applicantA.token}`, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const isJson = String(res.headers['content-type'] ?? '').includes('json');
            resolve({
              status: res.statusCode ?? 0,
              body: isJson ? JSON.parse(raw.toString()) : null,
              headers: res.headers,
              raw,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const uploadParts = (applicationId: string, parts: FormPart[]) => {
    const { body, contentType } = multipart(parts);
    return call(
      'POST',
      `/applications/${applicationId}/evidence`,
      { 'content-type': contentType, 'content-length': body.length },
      body,
    );
  };
  const uploadZip = (applicationId: string, entries: ZipEntrySpec[], name = 'evidence.zip') =>
    uploadParts(applicationId, [{ name: 'file', filename: name, content: buildZip(entries) }]);

  const rowsOf = (applicationId: string) =>
    t.database.db.selectFrom('evidence').selectAll().where('application_id', '=', applicationId).execute();

  /** No row for the application, no temp object or scratch file, and only objects that rows hold. */
  async function expectNothingKept(applicationId: string) {
    expect(await rowsOf(applicationId)).toHaveLength(0);
    await waitFor('temporary objects to go', async () => (await storage().temporary()).length === 0);
    const held = await t.database.db.selectFrom('evidence').select('storage_key').execute();
    expect((await storage().committed()).sort()).toEqual(held.map((r) => r.storage_key).sort());
  }

  describe('a zip of evidence folders', () => {
    it('maps criterion and process folders (any case) to criteria and reports what it did not file', async () => {
      const id = await draft();
      const shared = pdf('in two folders');
      const res = await uploadZip(id, [
        { name: 'L1/', mode: 0o040755 },
        { name: 'L1/assembly.pdf', content: pdf('assembly'), deflate: true },
        { name: 'e2/Refugee week.png', content: png('week') },
        { name: 'Share/newsletter.txt', content: text(2000, 'newsletter'), deflate: true },
        { name: 'L2/policy.pdf', content: shared },
        { name: 'S1/policy copy.pdf', content: shared },
        { name: 'readme.txt', content: 'not in a folder' },
        { name: 'Misc/notes.txt', content: 'not a criterion' },
        { name: '__MACOSX/L1/._assembly.pdf', content: 'resource fork' },
        { name: 'L1/empty.txt', content: '' },
      ]);
      expect(res.status).toBe(201);
      const byName = Object.fromEntries(res.body.items.map((i: any) => [i.filename, i]));
      expect(Object.keys(byName).sort()).toEqual([
        'Refugee week.png',
        'assembly.pdf',
        'newsletter.txt',
        'policy.pdf',
      ]);
      expect(byName['assembly.pdf'].criteria).toEqual(['L1']);
      expect(byName['Refugee week.png']).toMatchObject({ criteria: ['E2'], mediaType: 'image/png' });
      expect(byName['newsletter.txt'].criteria).toEqual(['S1', 'S2', 'S3']);
      // The same bytes in two folders are stored once, filed under both.
      expect(byName['policy.pdf'].criteria).toEqual(['L2', 'S1']);
      expect(res.body.skipped).toEqual(
        expect.arrayContaining([
          { path: 'readme.txt', reason: 'not inside a criterion or process folder' },
          { path: 'Misc/notes.txt', reason: expect.stringContaining('"Misc" is not a criterion code') },
          { path: '__MACOSX/L1/._assembly.pdf', reason: expect.any(String) },
          { path: 'L1/empty.txt', reason: 'the file is empty' },
        ]),
      );
      expect(await rowsOf(id)).toHaveLength(4);
      const download = await call(
        'GET',
        `/applications/${id}/evidence/${byName['newsletter.txt'].id}/content`,
      );
      expect(download.raw.equals(text(2000, 'newsletter'))).toBe(true);
      expect(await storage().temporary()).toEqual([]);
    });

    it('looks through one wrapping folder, as zipping the folder itself gives', async () => {
      const id = await draft();
      const res = await uploadZip(id, [
        { name: 'Our evidence/Learn/lesson.pdf', content: pdf('lesson') },
        { name: 'Our evidence/E1/photo.png', content: png('photo') },
      ]);
      expect(res.status).toBe(201);
      expect(res.body.items.map((i: any) => [i.filename, i.criteria])).toEqual(
        expect.arrayContaining([
          ['lesson.pdf', ['L1', 'L2']],
          ['photo.png', ['E1']],
        ]),
      );
    });

    const refusals: [string, ZipEntrySpec[], number, string, string | undefined][] = [
      [
        'path traversal',
        [{ name: 'L1/../../etc/cron.d/evil', content: 'x' }],
        400,
        'path-traversal',
        'L1/../../etc/cron.d/evil',
      ],
      ['an absolute path', [{ name: '/etc/passwd', content: 'x' }], 400, 'absolute-path', '/etc/passwd'],
      [
        'a symbolic link',
        [{ name: 'L1/link.pdf', content: '/etc/passwd', mode: 0o120777 }],
        400,
        'symlink',
        'L1/link.pdf',
      ],
      [
        'a nested archive',
        [{ name: 'E1/more.zip', content: buildZip([{ name: 'a.txt', content: 'a' }]) }],
        400,
        'nested-archive',
        'E1/more.zip',
      ],
      [
        'an encrypted entry',
        [{ name: 'L1/secret.pdf', content: pdf('secret'), encrypted: true }],
        400,
        'encrypted',
        'L1/secret.pdf',
      ],
    ];
    it.each(refusals)(
      'refuses %s, naming the entry, and keeps nothing',
      async (_what, entries, status, reason, entry) => {
        const id = await draft();
        const res = await uploadZip(id, [
          { name: 'L1/fine.pdf', content: pdf(`fine ${reason}`) },
          ...entries,
        ]);
        expect(res.status).toBe(status);
        expect(res.body).toMatchObject({ code: 'validation-failed', reason, entry });
        expect(res.body.detail).toContain(entry);
        await expectNothingKept(id);
      },
    );

    it('refuses an entry of a refused type (415), naming it, after earlier entries were stored', async () => {
      const id = await draft();
      const res = await uploadZip(id, [
        { name: 'L1/fine.pdf', content: pdf('before html') },
        { name: 'L2/page.pdf', content: '<!DOCTYPE html><html><script>alert(1)</script></html>' },
      ]);
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ code: 'unsupported-media-type', entry: 'L2/page.pdf' });
      expect(res.body.detail).toContain('L2/page.pdf');
      await expectNothingKept(id);
    });

    const bombs: [string, () => ZipEntrySpec[], string, number][] = [
      [
        'too many entries',
        () => Array.from({ length: 21 }, (_, n) => ({ name: `L1/note-${n}.txt`, content: `note ${n}` })),
        'zipMaxEntries',
        20,
      ],
      [
        'too many bytes once unpacked',
        () => [
          { name: 'L1/a.bin.txt', content: text(1.6 * MB, 'a') },
          { name: 'L2/b.bin.txt', content: text(1.6 * MB, 'b') },
        ],
        'zipMaxUncompressedBytes',
        3 * MB,
      ],
      [
        'many small entries that add up past the expansion limit, each one fine',
        () =>
          Array.from({ length: 15 }, (_, n) => ({
            name: `L1/part-${n}.txt`,
            content: text(220 * 1024, `part ${n}`),
          })),
        'zipMaxUncompressedBytes',
        3 * MB,
      ],
      [
        'an overall compression ratio of a bomb, though no entry is large enough to be judged alone',
        () =>
          Array.from({ length: 3 }, (_, n) => ({
            name: `E${n + 1}/zeros.txt`,
            content: Buffer.alloc(900 * 1024, 0x41),
            deflate: true,
          })),
        'zipMaxCompressionRatio',
        100,
      ],
      [
        'a compression ratio of a bomb',
        () => [{ name: 'L1/zeros.txt', content: Buffer.alloc(2 * MB, 0x41), deflate: true }],
        'zipMaxCompressionRatio',
        100,
      ],
      [
        'an entry over the per-file limit',
        () => [{ name: 'L1/huge.txt', content: Buffer.alloc(4 * MB + 1, 0x41), deflate: true }],
        'maxFileBytes',
        4 * MB,
      ],
    ];
    it.each(bombs)('refuses %s with 413 naming the limit', async (_what, entries, limit, value) => {
      const id = await draft();
      const res = await uploadZip(id, entries());
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'payload-too-large', limit, limitValue: value });
      await expectNothingKept(id);
    });

    it('refuses an entry whose real size is larger than its headers say, while inflating it', async () => {
      const id = await draft();
      const res = await uploadZip(id, [
        { name: 'L1/liar.txt', content: text(200_000, 'liar'), deflate: true, declaredSize: 1000 },
      ]);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation-failed', entry: 'L1/liar.txt' });
      await expectNothingKept(id);
    });

    it('refuses a zip over its own size limit (413) and keeps nothing', async () => {
      const id = await draft();
      const res = await uploadZip(id, [
        { name: 'L1/a.pdf', content: Buffer.concat([pdf('big'), randomBytes(2.6 * MB)]) },
        { name: 'L2/b.pdf', content: Buffer.concat([pdf('big2'), randomBytes(2.6 * MB)]) },
      ]);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ limit: 'zipMaxBytes', limitValue: 5 * MB });
      await expectNothingKept(id);
    });

    it('a zip upload cut off mid-body leaves nothing behind', async () => {
      const id = await draft();
      const { body, contentType } = multipart([
        {
          name: 'file',
          filename: 'folders.zip',
          content: buildZip([{ name: 'L1/a.txt', content: text(300_000) }]),
        },
      ]);
      const req = sendPartOfUpload(port, w.applicantA.token, id, { body, contentType }, 200_000);
      await waitFor('the zip to be spooled', async () => (await storage().temporary()).length > 0);
      req.destroy();
      await expectNothingKept(id);
    });
  });

  describe('files one by one', () => {
    it('a file over the per-file limit → 413 maxFileBytes; nothing kept', async () => {
      const id = await draft();
      const res = await uploadParts(id, [
        { name: 'criteria', value: 'L1' },
        { name: 'file', filename: 'ok.txt', content: text(1000) },
        { name: 'file', filename: 'big.txt', content: text(4 * MB + 10) },
      ]);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ limit: 'maxFileBytes', limitValue: 4 * MB });
      await expectNothingKept(id);
    });

    it('the same bytes twice to one application are stored once', async () => {
      const id = await draft();
      const same = pdf('twice');
      const first = await uploadParts(id, [
        { name: 'criteria', value: 'L1' },
        { name: 'f', filename: 'a.pdf', content: same },
      ]);
      const second = await uploadParts(id, [
        { name: 'criteria', value: 'E1' },
        { name: 'f', filename: 'b.pdf', content: same },
      ]);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.body.items[0].id).toBe(first.body.items[0].id);
      expect(second.body.items[0].criteria).toEqual(['L1', 'E1']);
      const rows = await rowsOf(id);
      expect(rows).toHaveLength(1);
      expect(await storage().committed()).toContain(rows[0]?.storage_key);
    });
  });

  describe('downloads', () => {
    let id: string;
    let video: Buffer;
    let evidenceId: string;
    beforeAll(async () => {
      id = await draft();
      // An MP4 header followed by bytes, as a scrubbing player would fetch it.
      video = Buffer.concat([
        Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'),
        randomBytes(300_000),
      ]);
      const res = await uploadParts(id, [
        { name: 'criteria', value: 'S1,S2' },
        { name: 'file', filename: 'Assemblée «Bienvenue» 🎬.mp4', content: video },
        { name: 'file', filename: 'policy.pdf', content: pdf('download') },
      ]);
      expect(res.status).toBe(201);
      evidenceId = res.body.items[0].id;
    });

    it('serves ranges with ETag from the SHA-256, nosniff and a safe Unicode file name', async () => {
      const full = await call('GET', `/applications/${id}/evidence/${evidenceId}/content`);
      expect(full.status).toBe(200);
      expect(full.raw.equals(video)).toBe(true);
      expect(full.headers['content-type']).toBe('video/mp4');
      expect(full.headers['x-content-type-options']).toBe('nosniff');
      expect(full.headers['content-disposition']).toBe(
        `attachment; filename="Assemblee _Bienvenue_ __.mp4"; filename*=UTF-8''${encodeURIComponent('Assemblée «Bienvenue» 🎬.mp4')}`,
      );
      const etag = full.headers.etag as string;
      expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
      const middle = await call('GET', `/applications/${id}/evidence/${evidenceId}/content`, {
        range: 'bytes=1000-1999',
        'if-range': etag,
      });
      expect(middle.status).toBe(206);
      expect(middle.headers['content-range']).toBe(`bytes 1000-1999/${video.length}`);
      expect(middle.raw.equals(video.subarray(1000, 2000))).toBe(true);
      const tail = await call('GET', `/applications/${id}/evidence/${evidenceId}/content`, {
        range: 'bytes=-500',
      });
      expect(tail.status).toBe(206);
      expect(tail.raw.equals(video.subarray(video.length - 500))).toBe(true);
      const past = await call('GET', `/applications/${id}/evidence/${evidenceId}/content`, {
        range: `bytes=${video.length}-`,
      });
      expect(past.status).toBe(416);
    });

    it('streams the whole evidence as a zip with a folder per criterion', async () => {
      const res = await call('GET', `/applications/${id}/evidence/archive`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/zip');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const entries = await unzip(res.raw);
      expect(Object.keys(entries).sort()).toEqual(
        [
          'S1/Assemblée «Bienvenue» 🎬.mp4',
          'S1/policy.pdf',
          'S2/Assemblée «Bienvenue» 🎬.mp4',
          'S2/policy.pdf',
        ].sort(),
      );
      expect(entries['S2/Assemblée «Bienvenue» 🎬.mp4']?.equals(video)).toBe(true);
      const history = await w.applicantA.api.get(`/applications/${id}/history`);
      expect(JSON.stringify(history.body)).toContain('EVIDENCE_ARCHIVE_DOWNLOADED');
    });
  });
});

function unzip(buffer: Buffer): Promise<Record<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out: Record<string, Buffer> = {};
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out[entry.fileName] = Buffer.concat(chunks);
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
