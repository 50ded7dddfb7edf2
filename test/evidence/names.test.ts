import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { listenOnFreePort } from '../helpers/app.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import type { Res } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import { filesUnder } from '../helpers/storage.ts';
import { buildZip, type ZipEntrySpec } from '../helpers/zip.ts';
import {
  type FormPart,
  jpeg,
  multipart,
  pdf,
  plainZip,
  png,
  text,
  uploadOverSocket,
  waitFor,
} from './fixtures.ts';

/**
 * The name must agree with the bytes (SPEC §6): names that promise markup or code are refused whatever
 * the file holds, text only under a text name, and a stored file's extension is its detected type's.
 * The same rules hold for each entry of a zip of evidence folders.
 */
// The app's evidence directory is a fresh temporary one of its own (see startTestApp).
const { t, w } = useWorld();
let port: number;
beforeAll(async () => {
  port = await listenOnFreePort(t.app);
});

const draft = () => draftOfNewSchool(t.database.db, w, 'Names school');
const file = (filename: string, content: Buffer): FormPart => ({ name: 'file', filename, content });
const criteria = (codes: string): FormPart => ({ name: 'criteria', value: codes });
const folders = (entries: ZipEntrySpec[], name = 'evidence.zip') => file(name, buildZip(entries));

async function upload(applicationId: string, parts: FormPart[]): Promise<Res> {
  const { body, contentType } = multipart(parts);
  const res = await t.app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { authorization: `Bearer ${w.applicantA.token}`, 'content-type': contentType },
    payload: body,
  });
  return {
    status: res.statusCode,
    body: JSON.parse(res.body),
    headers: res.headers as Record<string, unknown>,
    text: res.body,
  };
}

/** The same upload over a real socket. */
const socketUpload = (applicationId: string, parts: FormPart[]) =>
  uploadOverSocket(port, w.applicantA.token, applicationId, parts);

const rowsOf = (applicationId: string) =>
  t.database.db.selectFrom('evidence').selectAll().where('application_id', '=', applicationId).execute();

/** No row for the application, no temp file, and only files that rows hold on disk. */
async function expectNothingKept(applicationId: string) {
  expect(await rowsOf(applicationId)).toEqual([]);
  await waitFor(
    'temp files to be removed',
    async () => (await filesUnder(join(t.config.evidenceDir, '.tmp'))).length === 0,
  );
  const held = await t.database.db
    .selectFrom('evidence')
    .select('storage_key')
    .where('deleted_at', 'is', null)
    .execute();
  const onDisk = (await filesUnder(t.config.evidenceDir)).map((p) => p.split('/').pop());
  expect(onDisk.sort()).toEqual(held.map((r) => r.storage_key).sort());
}

describe('a name that promises markup or code → 415, whatever the file holds', () => {
  const refused: [string, Buffer, string][] = [
    ['x.html', png('html'), 'html'],
    ['report.exe', pdf('exe'), 'exe'],
    ['logo.svg', png('svg'), 'svg'],
    ['page.HTM', jpeg('htm'), 'htm'],
    ['app.js', text(200, 'js'), 'js'],
    ['tool.mjs', text(200, 'mjs'), 'mjs'],
    ['setup.bat', text(200, 'bat'), 'bat'],
    ['setup.cmd', text(200, 'cmd'), 'cmd'],
    ['update.hta', jpeg('hta'), 'hta'],
    ['macro.vbs', text(200, 'vbs'), 'vbs'],
    ['clean.ps1', text(200, 'ps1'), 'ps1'],
    ['install.sh', text(200, 'sh'), 'sh'],
    ['feed.xml', text(200, 'xml'), 'xml'],
    ['shortcut.lnk', pdf('lnk'), 'lnk'],
    ['site.url', text(200, 'url'), 'url'],
    ['settings.reg', text(200, 'reg'), 'reg'],
    ['budget.xlsm', pdf('xlsm'), 'xlsm'],
    ['policy.pdf.exe', pdf('double'), 'exe'],
    // Windows drops trailing dots and spaces; compatibility forms of letters read as the letters.
    ['page.html. ', png('trailing'), 'html'],
    ['page.ｈｔｍｌ', png('fullwidth'), 'html'],
    // A zip of folders under such a name is refused too.
    ['folders.jar', plainZip(), 'jar'],
  ];

  it.each(refused)('%s', async (name, content, extension) => {
    const id = await draft();
    const res = await upload(id, [
      criteria('L1'),
      file('fine.pdf', pdf(`fine ${name}`)),
      file(name, content),
    ]);
    expect([res.status, res.body.code]).toEqual([415, 'unsupported-media-type']);
    expect(res.body.detail).toMatch(
      new RegExp(`: a name ending in \\.${extension} is not accepted, whatever the file holds$`),
    );
    await expectNothingKept(id);
  });

  it('the problem names the file in plain words', async () => {
    const id = await draft();
    const res = await upload(id, [criteria('L1'), file('x.html', png('plain words'))]);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({
      code: 'unsupported-media-type',
      detail: 'x.html: a name ending in .html is not accepted, whatever the file holds',
      filename: 'x.html',
    });
    await expectNothingKept(id);
  });
});

describe('plain text only under a text name', () => {
  it.each([
    ['minutes.pdf', '.pdf'],
    ['policy.docx', '.docx'],
    ['photo.jpg', '.jpg'],
    ['data.json', '.json'],
    ['notes.v2', '.v2'],
  ])('text named %s → 415', async (name, extension) => {
    const id = await draft();
    const res = await upload(id, [criteria('L1'), file(name, text(300, name))]);
    expect([res.status, res.body.code]).toEqual([415, 'unsupported-media-type']);
    expect(res.body.detail).toBe(
      `${name}: the file holds plain text, which is accepted only under a name ending in .txt, .csv, .md (not ${extension})`,
    );
    expect(res.body.filename).toBe(name);
    await expectNothingKept(id);
  });

  it('is refused as it streams, past the first bytes of a large file', async () => {
    const id = await draft();
    const res = await socketUpload(id, [criteria('L1'), file('long report.pdf', text(500_000))]);
    expect([res.status, res.body.code]).toEqual([415, 'unsupported-media-type']);
    expect(res.body.detail).toMatch(/^long report\.pdf: the file holds plain text/);
    await expectNothingKept(id);
  });

  it('is kept under .txt, .csv and .md; a name without an extension gets .txt', async () => {
    const id = await draft();
    const res = await upload(id, [
      criteria('L1'),
      file('notes.txt', text(100, 'txt')),
      file('register.CSV', Buffer.from('name;year\nAmal;6\n')),
      file('README.md', text(100, 'md')),
      file('notes', text(100, 'none')),
      file('Minutes 12.03', text(100, 'dotted')),
    ]);
    expect(res.status).toBe(201);
    expect(res.body.items.map((i: any) => [i.filename, i.mediaType])).toEqual([
      ['notes.txt', 'text/plain'],
      ['register.CSV', 'text/plain'],
      ['README.md', 'text/plain'],
      ['notes.txt', 'text/plain'],
      ['Minutes 12.03.txt', 'text/plain'],
    ]);
  });
});

describe('a stored file has the extension of its detected type', () => {
  let id: string;
  let items: any[];
  beforeAll(async () => {
    id = await draft();
    const res = await upload(id, [
      criteria('E1'),
      file('photo.pdf', jpeg('renamed')),
      file('scan', png('no extension')),
      file('report.txt', pdf('was txt')),
      file('diagram.v2', png('unknown extension')),
      file('HOLIDAY.JPEG', jpeg('alias')),
    ]);
    expect(res.status).toBe(201);
    items = res.body.items;
  });

  it('in the upload answer, the list and the metadata', async () => {
    expect(items.map((i) => [i.filename, i.mediaType])).toEqual([
      ['photo.jpg', 'image/jpeg'],
      ['scan.png', 'image/png'],
      ['report.pdf', 'application/pdf'],
      ['diagram.v2.png', 'image/png'],
      ['HOLIDAY.JPEG', 'image/jpeg'],
    ]);
    const list = await w.leadA.api.get(`/applications/${id}/evidence`);
    expect(list.body.items.map((i: any) => i.filename).sort()).toEqual(
      ['HOLIDAY.JPEG', 'diagram.v2.png', 'photo.jpg', 'report.pdf', 'scan.png'].sort(),
    );
    const one = await w.applicantA.api.get(`/applications/${id}/evidence/${items[0].id}`);
    expect(one.body).toMatchObject({ filename: 'photo.jpg', mediaType: 'image/jpeg' });
    const rows = await rowsOf(id);
    expect(rows.map((r) => r.filename).sort()).toEqual(
      ['HOLIDAY.JPEG', 'diagram.v2.png', 'photo.jpg', 'report.pdf', 'scan.png'].sort(),
    );
    const history = await t.database.db
      .selectFrom('application_events')
      .select('payload')
      .where('application_id', '=', id)
      .where('type', '=', 'EVIDENCE_UPLOADED')
      .execute();
    expect(history.map((h) => (h.payload as { filename: string }).filename)).toContain('photo.jpg');
  });

  it('on download, in Content-Disposition', async () => {
    const photo = await w.applicantA.api.get(`/applications/${id}/evidence/${items[0].id}/content`);
    expect(photo.status).toBe(200);
    expect(photo.headers['content-type']).toBe('image/jpeg');
    expect(photo.headers['content-disposition']).toBe(
      `attachment; filename="photo.jpg"; filename*=UTF-8''photo.jpg`,
    );
    const scan = await w.applicantA.api.get(`/applications/${id}/evidence/${items[1].id}/content`);
    expect(scan.headers['content-disposition']).toBe(
      `attachment; filename="scan.png"; filename*=UTF-8''scan.png`,
    );
  });
});

describe('the same rules inside a zip of evidence folders', () => {
  it('an entry whose name promises markup → 415 naming the entry, before anything is stored', async () => {
    const id = await draft();
    const res = await upload(id, [
      folders([
        { name: 'L1/fine.pdf', content: pdf('zip fine') },
        { name: 'L2/page.html', content: png('zip html') },
      ]),
    ]);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({
      code: 'unsupported-media-type',
      entry: 'L2/page.html',
      detail: 'L2/page.html: a name ending in .html is not accepted, whatever the file holds',
    });
    await expectNothingKept(id);
  });

  it('an entry of text under another name → 415 naming the entry', async () => {
    const id = await draft();
    const res = await upload(id, [
      folders([
        { name: 'L1/fine.pdf', content: pdf('zip text fine') },
        { name: 'E1/minutes.pdf', content: text(2000, 'zip text'), deflate: true },
      ]),
    ]);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'unsupported-media-type', entry: 'E1/minutes.pdf' });
    expect(res.body.detail).toMatch(/^E1\/minutes\.pdf: the file holds plain text/);
    await expectNothingKept(id);
  });

  it('entries are stored under the extension of their detected type', async () => {
    const id = await draft();
    const res = await upload(id, [
      folders([
        { name: 'E1/photo.pdf', content: jpeg('zip photo') },
        { name: 'L2/readme', content: text(300, 'zip readme') },
        { name: 'S1/scan.txt', content: png('zip scan') },
      ]),
    ]);
    expect(res.status).toBe(201);
    expect(res.body.items.map((i: any) => [i.filename, i.criteria])).toEqual([
      ['photo.jpg', ['E1']],
      ['readme.txt', ['L2']],
      ['scan.png', ['S1']],
    ]);
  });

  it('a zip of folders under a name that promises markup → 415', async () => {
    const id = await draft();
    const res = await upload(id, [
      folders([{ name: 'L1/fine.pdf', content: pdf('outer') }], 'evidence.html'),
    ]);
    expect([res.status, res.body.code]).toEqual([415, 'unsupported-media-type']);
    expect(res.body.detail).toBe(
      'evidence.html: a name ending in .html is not accepted, whatever the file holds',
    );
    await expectNothingKept(id);
  });
});

describe('over a real socket', () => {
  it('a PNG named x.html → 415, nothing kept, and the server answers normally afterwards', async () => {
    const id = await draft();
    const res = await socketUpload(id, [criteria('L1'), file('x.html', png('socket'))]);
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'unsupported-media-type', filename: 'x.html' });
    await expectNothingKept(id);
    const after = await socketUpload(id, [criteria('L1'), file('photo.pdf', jpeg('socket after'))]);
    expect(after.status).toBe(201);
    expect(after.body.items[0].filename).toBe('photo.jpg');
  });
});
