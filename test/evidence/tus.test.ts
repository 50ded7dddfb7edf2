import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { stripLocation } from '../../src/evidence/location/index.ts';
import { listenOnFreePort } from '../helpers/app.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { multipart } from '../helpers/multipart.ts';
import {
  gifWithXmp,
  heicWithLocation,
  jpegWithLocation,
  movieWithLocation,
  pngWithCompressedXmp,
  pngWithLocation,
} from '../helpers/photos.ts';
import { useS3Server } from '../helpers/s3.ts';
import { filesUnder, type StorageKind, useWorldOnStorage } from '../helpers/storage.ts';
import { exe, pdf, png, waitFor, zip } from './fixtures.ts';

/**
 * Resumable (tus 1.0) evidence uploads over a real socket, on the local store and on a real
 * S3-compatible server: resume after a cut connection and after a restart, expiry, the application's
 * limit across concurrent uploads, refusals that leave nothing, and scope.
 */
const KB = 1024;
const LIMITS = {
  MAX_FILE_BYTES: String(600 * KB),
  MAX_APPLICATION_BYTES: String(1000 * KB),
  MAX_FILES_PER_REQUEST: '10',
};

const s3 = useS3Server();

type Reply = { status: number; body: any; headers: Record<string, string | string[] | undefined> };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const metadata = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

/** A PDF of about `size` bytes (a long comment inside). */
const bigPdf = (size: number) => pdf(randomBytes(Math.ceil(size / 2)).toString('hex'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What the location cleaning makes of a file (as a multipart upload stores it). */
async function cleanedBytes(original: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* whole() {
    yield original;
  }
  for await (const chunk of stripLocation(whole()).stream) out.push(Buffer.from(chunk));
  return Buffer.concat(out);
}

function call(
  port: number,
  token: string,
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body?: Buffer,
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString();
          const isJson = raw !== '' && String(res.headers['content-type'] ?? '').includes('json');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: isJson ? JSON.parse(raw) : raw,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends a PATCH that promises the whole rest of the file and cuts the connection after `part` of it,
 * as a dropped school network does.
 */
function patchThenCut(port: number, token: string, path: string, offset: number, rest: Buffer, part: number) {
  return new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `PATCH ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nTus-Resumable: 1.0.0\r\n` +
          `Upload-Offset: ${offset}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: ${rest.length}\r\n\r\n`,
      );
      socket.write(rest.subarray(0, part), () => {
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    socket.on('error', reject);
  });
}

describe.each<StorageKind>(['local', 's3'])('resumable evidence uploads (%s storage)', (kind) => {
  const { t, w, storage } = useWorldOnStorage(kind, s3, LIMITS);
  let port: number;
  beforeAll(async () => {
    port = await listenOnFreePort(t.app);
  });

  const draft = () => draftOfNewSchool(t.database.db, w, `Tus school ${kind}`);
  const token = () => w.applicantA.token;
  /** The partial upload's files on disk (its bytes and its tus metadata). */
  const partials = async (location: string) =>
    (await filesUnder(join(t.config.evidenceDir, '.uploads'))).filter((p) =>
      p.includes(location.split('/').pop() as string),
    );

  async function create(
    applicationId: string,
    length: number,
    fields: Record<string, string> = { filename: 'report.pdf', criteria: 'L1' },
    who = token(),
    on = port,
  ) {
    return call(on, who, 'POST', `/applications/${applicationId}/uploads`, {
      'upload-length': length,
      'upload-metadata': metadata(fields),
    });
  }
  const offsetOf = async (location: string, on = port) => {
    const head = await call(on, token(), 'HEAD', location);
    expect(head.status).toBe(200);
    return Number(head.headers['upload-offset']);
  };
  const patch = (location: string, offset: number, bytes: Buffer, on = port) =>
    call(
      on,
      token(),
      'PATCH',
      location,
      { 'upload-offset': offset, 'content-type': 'application/offset+octet-stream' },
      bytes,
    );

  /** The application's evidence rows, and nothing half-done: no partial upload, no reservation, no temp object. */
  async function expectClean(applicationId: string, location: string) {
    await waitFor('the partial upload to be removed', async () => (await partials(location)).length === 0);
    const reservations = await t.database.db
      .selectFrom('evidence_uploads')
      .select('id')
      .where('application_id', '=', applicationId)
      .execute();
    expect(reservations).toEqual([]);
    expect(await storage().temporary()).toEqual([]);
  }

  it('OPTIONS tells the protocol without a token', async () => {
    const id = await draft();
    const res = await call(port, '', 'OPTIONS', `/applications/${id}/uploads`, { authorization: '' });
    expect(res.status).toBe(204);
    expect(res.headers['tus-version']).toBe('1.0.0');
    expect(res.headers['tus-extension']).toContain('creation');
    expect(res.headers['tus-max-size']).toBe(String(600 * KB));
  });

  it('resumes after a cut connection from the offset the server stored, and files the whole file', async () => {
    const id = await draft();
    const file = bigPdf(400 * KB);
    const created = await create(id, file.length);
    expect(created.status).toBe(201);
    const location = String(created.headers.location);
    expect(location).toMatch(new RegExp(`^/applications/${id}/uploads/[0-9a-f]{32}$`));
    expect(created.headers['upload-expires']).toBeDefined();

    await patchThenCut(port, token(), location, 0, file, 150 * KB);
    // The server keeps what reached it: wait until it noticed the cut and stored it.
    let offset = 0;
    await waitFor('the cut PATCH to be stored', async () => {
      offset = await offsetOf(location);
      return offset > 0;
    });
    expect(offset).toBeLessThanOrEqual(150 * KB);

    const stale = await patch(location, 0, file.subarray(0, 10));
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('conflict');

    const done = await patch(location, offset, file.subarray(offset));
    expect(done.status).toBe(200);
    expect(done.headers['upload-offset']).toBe(String(file.length));
    expect(done.body.items).toHaveLength(1);
    expect(done.body.items[0]).toMatchObject({
      filename: 'report.pdf',
      mediaType: 'application/pdf',
      size: file.length,
      sha256: sha256(file),
      criteria: ['L1'],
    });
    const history = await t.database.db
      .selectFrom('application_events')
      .select('type')
      .where('application_id', '=', id)
      .where('type', '=', 'EVIDENCE_UPLOADED')
      .execute();
    expect(history).toHaveLength(1);
    const download = await call(
      port,
      token(),
      'GET',
      `/applications/${id}/evidence/${done.body.items[0].id}`,
    );
    expect(download.status).toBe(200);
    expect(await storage().committed()).toContain(done.body.items[0].id);
    await expectClean(id, location);
    // Finished: the upload URL is gone.
    expect((await call(port, token(), 'HEAD', location)).status).toBe(404);
  });

  it('photos and videos sent resumably are stored as a multipart upload stores them: their location removed', async () => {
    const id = await draft();
    const files: [string, Buffer][] = [
      ['garden.jpg', await jpegWithLocation()],
      ['poster.png', await pngWithLocation()],
      ['wave.gif', await gifWithXmp()],
      ['diagram.png', await pngWithCompressedXmp()],
      ['assembly.mov', movieWithLocation('mov')],
      ['trip.heic', heicWithLocation()],
    ];
    for (const [filename, original] of files) {
      const cleaned = await cleanedBytes(original);
      // Some cleanings blank in place (a movie), others remove whole blocks (a GIF's XMP) or lengthen one (a
      // PNG's compressed XMP is stored uncompressed).
      expect(cleaned.equals(original)).toBe(false);
      const location = String(
        (await create(id, original.length, { filename, criteria: 'L1' })).headers.location,
      );
      const half = Math.floor(original.length / 2);
      expect((await patch(location, 0, original.subarray(0, half))).status).toBe(204);
      const done = await patch(location, half, original.subarray(half));
      expect(done.status).toBe(200);
      const item = done.body.items[0];
      expect(item.metadataRemoved.length).toBeGreaterThan(0);
      expect(item).toMatchObject({ filename, size: cleaned.length, sha256: sha256(cleaned) });
      const content = await t.app.inject({
        method: 'GET',
        url: `/applications/${id}/evidence/${item.id}/content`,
        headers: { authorization: `Bearer ${token()}` },
      });
      expect(content.statusCode).toBe(200);
      expect(content.rawPayload.equals(cleaned)).toBe(true);
      await expectClean(id, location);
    }
  });

  if (kind === 'local') {
    it('a finished upload is filed where it lies: the stored file is the partial file, not a copy', async () => {
      const id = await draft();
      const file = bigPdf(300 * KB);
      const location = String((await create(id, file.length)).headers.location);
      expect((await patch(location, 0, file.subarray(0, 100 * KB))).status).toBe(204);
      const [partial] = (await partials(location)).filter((p) => !p.endsWith('.json'));
      const { ino } = await stat(partial as string);
      const done = await patch(location, 100 * KB, file.subarray(100 * KB));
      expect(done.status).toBe(200);
      const key = done.body.items[0].id as string;
      const stored = join(t.config.evidenceDir, key.slice(0, 2), key.slice(2, 4), key);
      expect((await stat(stored)).ino).toBe(ino);
      expect((await readFile(stored)).equals(file)).toBe(true);
      await expectClean(id, location);
    });
  }

  it('a zip of criterion folders sent resumably is unpacked into its files, and nothing of it stays', async () => {
    const id = await draft();
    const archive = zip([
      { name: 'L1/lesson plan.pdf', content: pdf('resumable lesson') },
      { name: 'E1/assembly.png', content: png('resumable assembly') },
    ]);
    const location = String(
      (await create(id, archive.length, { filename: 'evidence folders.zip' })).headers.location,
    );
    const done = await patch(location, 0, archive);
    expect(done.status).toBe(200);
    expect(
      done.body.items.map((i: { filename: string; criteria: string[] }) => [i.filename, i.criteria]).sort(),
    ).toEqual([
      ['assembly.png', ['E1']],
      ['lesson plan.pdf', ['L1']],
    ]);
    await expectClean(id, location);
  });

  it('a partial file written meanwhile by someone else (another instance) is hashed as it is filed', async () => {
    const id = await draft();
    const file = bigPdf(200 * KB);
    const location = String((await create(id, file.length)).headers.location);
    expect((await patch(location, 0, file.subarray(0, 100 * KB))).status).toBe(204);
    // Another instance sharing the directory rewrites a byte of what this one already hashed.
    const [partial] = (await partials(location)).filter((p) => !p.endsWith('.json'));
    const changed = Buffer.from(file);
    changed[50 * KB] = (changed[50 * KB] as number) ^ 0xff;
    // Later than this instance's own write by more than the file system's clock tick.
    await new Promise((r) => setTimeout(r, 50));
    await writeFile(partial as string, changed.subarray(0, 100 * KB), { flag: 'r+' });
    const done = await patch(location, 100 * KB, file.subarray(100 * KB));
    expect(done.status).toBe(200);
    expect(done.body.items[0]).toMatchObject({ size: file.length, sha256: sha256(changed) });
    await expectClean(id, location);
  });

  it('resumes after the server restarted (a new instance on the same data and database)', async () => {
    const id = await draft();
    const file = bigPdf(300 * KB);
    const first: FastifyInstance = await buildApp({ config: t.config, database: t.database, logger: false });
    const firstPort = await listenOnFreePort(first);
    const location = String((await create(id, file.length, undefined, token(), firstPort)).headers.location);
    expect((await patch(location, 0, file.subarray(0, 100 * KB), firstPort)).status).toBe(204);
    await patchThenCut(firstPort, token(), location, 100 * KB, file.subarray(100 * KB), 50 * KB);
    await first.close();

    const second: FastifyInstance = await buildApp({ config: t.config, database: t.database, logger: false });
    try {
      const secondPort = await listenOnFreePort(second);
      const offset = await offsetOf(location, secondPort);
      expect(offset).toBeGreaterThanOrEqual(100 * KB);
      const done = await patch(location, offset, file.subarray(offset), secondPort);
      expect(done.status).toBe(200);
      expect(done.body.items[0]).toMatchObject({ size: file.length, sha256: sha256(file) });
    } finally {
      await second.close();
    }
    await expectClean(id, location);
  });

  it('unfinished uploads expire: the cleanup removes their bytes and their reservation', async () => {
    const id = await draft();
    const file = bigPdf(200 * KB);
    const location = String((await create(id, file.length)).headers.location);
    expect((await patch(location, 0, file.subarray(0, 50 * KB))).status).toBe(204);
    expect(await partials(location)).not.toEqual([]);

    const removedNow = await t.app.resumable.removeExpired(t.database.db);
    expect(removedNow).toBe(0);
    const later = new Date(Date.now() + t.config.resumableUploadExpiryMs + 60_000);
    expect(await t.app.resumable.removeExpired(t.database.db, later)).toBe(1);
    await expectClean(id, location);
    expect((await call(port, token(), 'HEAD', location)).status).toBe(404);
  });

  it("concurrent uploads cannot together pass the application's limit", async () => {
    const id = await draft();
    const answers = await Promise.all([
      create(id, 400 * KB, { filename: 'a.pdf', criteria: 'L1' }),
      create(id, 400 * KB, { filename: 'b.pdf', criteria: 'L1' }),
      create(id, 400 * KB, { filename: 'c.pdf', criteria: 'L1' }),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 201, 413]);
    const refused = answers.find((a) => a.status === 413) as Reply;
    expect(refused.body).toMatchObject({ code: 'payload-too-large', limit: 'maxApplicationBytes' });
    // Terminating one gives its reservation back.
    const location = String(answers.find((a) => a.status === 201)?.headers.location);
    expect((await call(port, token(), 'DELETE', location)).status).toBe(204);
    expect((await create(id, 400 * KB, { filename: 'd.pdf', criteria: 'L1' })).status).toBe(201);
  });

  it('a multipart upload cannot take the room a resumable upload under way was promised', async () => {
    const id = await draft();
    const file = bigPdf(490 * KB);
    const created = await create(id, file.length, { filename: 'film.pdf', criteria: 'L1' });
    expect(created.status).toBe(201);
    // About 490 KB reserved: another 550 KB sent as a plain form would pass the 1000 KB limit.
    const form = multipart({ criteria: 'L2' }, [
      { filename: 'big.pdf', content: bigPdf(550 * KB), contentType: 'application/pdf' },
    ]);
    const refused = await t.app.inject({
      method: 'POST',
      url: `/applications/${id}/evidence`,
      headers: { authorization: `Bearer ${token()}`, 'content-type': form.contentType },
      payload: form.body,
    });
    expect(refused.statusCode).toBe(413);
    expect(refused.json()).toMatchObject({ code: 'payload-too-large', limit: 'maxApplicationBytes' });
    // The resumable upload itself, when complete, is not counted against its own reservation.
    const done = await patch(String(created.headers.location), 0, file);
    expect(done.status).toBe(200);
    const rows = await t.database.db
      .selectFrom('evidence')
      .select('size')
      .where('application_id', '=', id)
      .execute();
    expect(rows.map((r) => Number(r.size))).toEqual([file.length]);
  });

  it('a file over the per-file limit is refused at creation with 413', async () => {
    const id = await draft();
    const res = await create(id, 700 * KB);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      code: 'payload-too-large',
      limit: 'maxFileBytes',
      filename: 'report.pdf',
    });
  });

  it('a disguised program (an .exe named .pdf) is refused with 415 when complete, and nothing stays', async () => {
    const id = await draft();
    const file = exe();
    const location = String(
      (await create(id, file.length, { filename: 'invoice.pdf', criteria: 'L1' })).headers.location,
    );
    const res = await patch(location, 0, file);
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported-media-type');
    const rows = await t.database.db
      .selectFrom('evidence')
      .select('id')
      .where('application_id', '=', id)
      .execute();
    expect(rows).toEqual([]);
    await expectClean(id, location);
  });

  it('a name that promises code is refused at creation; a missing criterion is a 400', async () => {
    const id = await draft();
    expect((await create(id, 100, { filename: 'run.bat', criteria: 'L1' })).status).toBe(415);
    const unknown = await create(id, 100, { filename: 'a.pdf', criteria: 'Z9' });
    expect(unknown.status).toBe(400);
    expect((await create(id, 100, { filename: 'a.pdf' })).status).toBe(400);
  });

  it('scope: another school is 404, a role that does not upload is 403, and uploads are their maker’s', async () => {
    const id = await draft();
    const other = await create(id, 100, undefined, w.applicantB.token);
    expect(other.status).toBe(404);
    const lead = await create(id, 100, undefined, w.leadA.token);
    expect(lead.status).toBe(403);
    const location = String((await create(id, 100)).headers.location);
    expect((await call(port, w.applicantB.token, 'HEAD', location)).status).toBe(404);
    expect((await call(port, w.leadA.token, 'HEAD', location)).status).toBe(403);
    const noToken = await call(port, '', 'HEAD', location, { authorization: '' });
    expect(noToken.status).toBe(401);
  });
});
