import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { sanitiseFilename } from '../../src/evidence/intake/filenames.ts';
import { contentDisposition } from '../../src/evidence/routes.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import type { Res } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';
import { docx, exe, type FormPart, multipart, odt, pdf, plainZip, png, text } from './fixtures.ts';

// The app's evidence directory is a fresh temporary one of its own (see startTestApp).
const { t, w } = useWorld();

const draft = () => draftOfNewSchool(t.database.db, w, 'School');

async function upload(actor: Actor | null, applicationId: string, parts: FormPart[]): Promise<Res> {
  const { body, contentType } = multipart(parts);
  const res = await t.app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { ...(actor ? { authorization: `Bearer ${actor.token}` } : {}), 'content-type': contentType },
    payload: body,
  });
  const json = String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(res.body) : res.body;
  return {
    status: res.statusCode,
    body: json,
    headers: res.headers as Record<string, unknown>,
    text: res.body,
  };
}

const file = (filename: string, content: Buffer): FormPart => ({ name: 'file', filename, content });
const criteria = (codes: string): FormPart => ({ name: 'criteria', value: codes });

async function evidenceRows(applicationId: string) {
  return t.database.db
    .selectFrom('evidence')
    .selectAll()
    .where('application_id', '=', applicationId)
    .execute();
}

async function filesOnDisk(dir = t.config.evidenceDir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesOnDisk(path)));
    else out.push(path);
  }
  return out;
}

async function history(applicationId: string, type: string) {
  return t.database.db
    .selectFrom('application_events')
    .selectAll()
    .where('application_id', '=', applicationId)
    .where('type', '=', type)
    .orderBy('id')
    .execute();
}

describe('uploading evidence to a draft', () => {
  let id: string;
  beforeAll(async () => {
    id = await draft();
  });

  it('stores files with the type read from the bytes and answers 201 with the items', async () => {
    const res = await upload(w.applicantA, id, [
      criteria('L1, E2'),
      file('assembly.pdf', pdf('assembly')),
      { name: 'file', filename: 'photo.jpg', content: png('photo'), contentType: 'image/jpeg' },
      file('policy.docx', docx()),
      file('minutes.odt', odt()),
      file('notes.txt', text(300)),
    ]);
    expect([res.status, res.body.detail]).toEqual([201, undefined]);
    expect(res.body.items).toHaveLength(5);
    const [first, photo, policy, minutes, notes] = res.body.items;
    expect(first).toMatchObject({
      filename: 'assembly.pdf',
      mediaType: 'application/pdf',
      criteria: ['L1', 'E2'],
      round: 1,
    });
    expect(first.size).toBe(pdf('assembly').length);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.uploadedBy).toBe(w.applicantA.id);
    // The client said JPEG; the bytes say PNG.
    expect(photo.mediaType).toBe('image/png');
    expect(policy.mediaType).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(minutes.mediaType).toBe('application/vnd.oasis.opendocument.text');
    expect(notes.mediaType).toBe('text/plain');
    expect(await evidenceRows(id)).toHaveLength(5);
    expect((await history(id, 'EVIDENCE_UPLOADED')).map((h) => h.payload)).toContainEqual(
      expect.objectContaining({
        evidenceId: first.id,
        filename: 'assembly.pdf',
        criteria: ['L1', 'E2'],
        sha256: first.sha256,
      }),
    );
  });

  it('lists, filters by criterion and shows one item to everyone in scope', async () => {
    const all = await w.leadA.api.get(`/applications/${id}/evidence`);
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(5);
    const e2 = await w.admin.api.get(`/applications/${id}/evidence?criterion=E2`);
    expect(e2.status).toBe(200);
    expect(e2.body.items.length).toBeGreaterThan(0);
    expect(e2.body.items.every((i: { criteria: string[] }) => i.criteria.includes('E2'))).toBe(true);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence?criterion=S3`)).body.items).toEqual([]);
    const one = await w.applicantA.api.get(`/applications/${id}/evidence/${all.body.items[0].id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(all.body.items[0]);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence/${crypto.randomUUID()}`)).status).toBe(
      404,
    );
  });

  it('the same bytes twice are stored once, with the criteria merged', async () => {
    const bytes = pdf('dedupe');
    const first = await upload(w.applicantA, id, [criteria('L1'), file('first.pdf', bytes)]);
    expect(first.status).toBe(201);
    const filesBefore = (await filesOnDisk()).length;
    const second = await upload(w.applicantA, id, [criteria('S2,L1'), file('again.pdf', bytes)]);
    expect(second.status).toBe(201);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.items[0].id).toBe(first.body.items[0].id);
    expect(second.body.items[0].criteria).toEqual(['L1', 'S2']);
    expect(second.body.items[0].filename).toBe('first.pdf');
    const rows = (await evidenceRows(id)).filter((r) => r.sha256 === first.body.items[0].sha256);
    expect(rows).toHaveLength(1);
    expect(rows[0].criteria).toEqual(['L1', 'S2']);
    expect((await filesOnDisk()).length).toBe(filesBefore);
  });

  it('keeps Unicode in file names but strips paths and control characters', async () => {
    const res = await upload(w.applicantA, id, [
      criteria('S1'),
      file('..\\..\\etc/Pledge – école\u0007 \u202Efdp.exe.pdf', pdf('unicode-name')),
    ]);
    expect(res.status).toBe(201);
    expect(res.body.items[0].filename).toBe('Pledge – école fdp.exe.pdf');
  });

  it('refuses HTML, SVG, scripts, executables and binary junk whatever their names (415)', async () => {
    const before = (await evidenceRows(id)).length;
    const disguised: [string, Buffer][] = [
      ['report.pdf', Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>')],
      ['logo.png', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')],
      ['badge.txt', Buffer.from('  <svg onload="alert(1)"/>')],
      ['notes.txt', Buffer.from('#!/bin/sh\nrm -rf /\n')],
      ['setup.pdf', exe()],
      ['noise.txt', Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28])],
    ];
    for (const [name, content] of disguised) {
      const res = await upload(w.applicantA, id, [criteria('L1'), file(name, content)]);
      expect([name, res.status, res.body.code]).toEqual([name, 415, 'unsupported-media-type']);
    }
    // A plain zip is a folder of evidence (zip.test.ts); with no file inside a criterion folder it files nothing.
    const zipped = await upload(w.applicantA, id, [criteria('L1'), file('folder.docx', plainZip())]);
    expect([zipped.status, zipped.body.code]).toEqual([400, 'validation-failed']);
    expect(zipped.body.errors).toEqual([
      { path: 'notes.txt', message: 'not inside a criterion or process folder' },
    ]);
    expect(await evidenceRows(id)).toHaveLength(before);
  });

  it('a request that fails on its second file keeps nothing of the first', async () => {
    const before = (await evidenceRows(id)).length;
    const filesBefore = (await filesOnDisk()).length;
    const res = await upload(w.applicantA, id, [
      criteria('L1'),
      file('ok.pdf', pdf('first-of-two')),
      file('bad.pdf', exe()),
    ]);
    expect(res.status).toBe(415);
    expect(await evidenceRows(id)).toHaveLength(before);
    expect((await filesOnDisk()).length).toBe(filesBefore);
  });

  it('validates the form: criteria first, known codes, at least one file', async () => {
    const unknown = await upload(w.applicantA, id, [criteria('L1,X9'), file('a.pdf', pdf('x9'))]);
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('validation-failed');
    expect(unknown.body.detail).toMatch(/X9/);
    const missing = await upload(w.applicantA, id, [file('a.pdf', pdf('no-criteria'))]);
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toMatch(/criteria/);
    const late = await upload(w.applicantA, id, [file('a.pdf', pdf('late')), criteria('L1')]);
    expect(late.status).toBe(400);
    const noFile = await upload(w.applicantA, id, [criteria('L1')]);
    expect(noFile.status).toBe(400);
    const empty = await upload(w.applicantA, id, [criteria('L1'), file('empty.pdf', Buffer.alloc(0))]);
    expect(empty.status).toBe(400);
    const json = await w.applicantA.api.post(`/applications/${id}/evidence`, { criteria: 'L1' });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('unsupported-media-type');
  });

  it('only the applicant organisation’s members upload; others get 403 or 404', async () => {
    const parts = [criteria('L1'), file('a.pdf', pdf('roles'))];
    const lead = await upload(w.leadA, id, parts);
    expect([lead.status, lead.body.code]).toEqual([403, 'forbidden']);
    expect((await upload(w.admin, id, parts)).status).toBe(403);
    expect((await upload(w.appraiserA, id, parts)).status).toBe(404);
    expect((await upload(w.applicantB, id, parts)).status).toBe(404);
    expect((await upload(w.leadB, id, parts)).status).toBe(404);
    expect((await upload(null, id, parts)).status).toBe(401);
    expect((await upload(w.applicantA, crypto.randomUUID(), parts)).status).toBe(404);
  });

  it('reading is scoped the same way', async () => {
    const url = `/applications/${id}/evidence`;
    expect((await w.appraiserA.api.get(url)).status).toBe(404);
    expect((await w.applicantB.api.get(url)).status).toBe(404);
    expect((await w.leadB.api.get(url)).status).toBe(404);
    expect((await w.anonymous.get(url)).status).toBe(401);
    const item = (await w.applicantA.api.get(url)).body.items[0];
    expect((await w.applicantB.api.get(`${url}/${item.id}/content`)).status).toBe(404);
    expect((await w.appraiserA.api.get(`${url}/${item.id}/content`)).status).toBe(404);
  });
});

describe('downloading', () => {
  let id: string;
  let item: { id: string; sha256: string; size: number; filename: string };
  const bytes = text(1000, 'download');
  beforeAll(async () => {
    id = await draft();
    const res = await upload(w.applicantA, id, [criteria('L2'), file('Réunion notes; 2026.txt', bytes)]);
    item = res.body.items[0];
  });

  it('sends the bytes as an attachment with safe headers, and records who downloaded', async () => {
    const res = await w.leadA.api.get(`/applications/${id}/evidence/${item.id}/content`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(bytes.toString());
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers.etag).toBe(`"${item.sha256}"`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['content-length']).toBe('1000');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="Reunion notes_ 2026.txt"; filename*=UTF-8''R%C3%A9union%20notes%3B%202026.txt`,
    );
    const lines = await history(id, 'EVIDENCE_DOWNLOADED');
    expect(lines).toHaveLength(1);
    expect(lines[0].actor_id).toBe(w.leadA.id);
    expect(lines[0].payload).toEqual({ evidenceId: item.id, filename: item.filename });
  });

  it('serves single ranges with 206 and records the range', async () => {
    const url = `/applications/${id}/evidence/${item.id}/content`;
    const middle = await w.applicantA.api.get(url, { range: 'bytes=10-19' });
    expect(middle.status).toBe(206);
    expect(middle.text).toBe(bytes.subarray(10, 20).toString());
    expect(middle.headers['content-range']).toBe('bytes 10-19/1000');
    expect(middle.headers['content-length']).toBe('10');
    const tail = await w.applicantA.api.get(url, { range: 'bytes=-5' });
    expect([tail.status, tail.text, tail.headers['content-range']]).toEqual([
      206,
      bytes.subarray(995).toString(),
      'bytes 995-999/1000',
    ]);
    const open = await w.applicantA.api.get(url, { range: 'bytes=990-' });
    expect([open.status, open.headers['content-range']]).toEqual([206, 'bytes 990-999/1000']);
    const past = await w.applicantA.api.get(url, { range: 'bytes=990-5000' });
    expect([past.status, past.headers['content-range']]).toEqual([206, 'bytes 990-999/1000']);
    const staleIfRange = await w.applicantA.api.get(url, { range: 'bytes=0-1', 'if-range': '"other"' });
    expect(staleIfRange.status).toBe(200);
    const matchingIfRange = await w.applicantA.api.get(url, {
      range: 'bytes=0-1',
      'if-range': `"${item.sha256}"`,
    });
    expect(matchingIfRange.status).toBe(206);
    const lines = await history(id, 'EVIDENCE_DOWNLOADED');
    expect(lines.map((l) => l.payload.range)).toContain('bytes=10-19');
  });

  it('a range past the end answers 416 with the size', async () => {
    const res = await w.applicantA.api.get(`/applications/${id}/evidence/${item.id}/content`, {
      range: 'bytes=1000-',
    });
    expect(res.status).toBe(416);
    expect(res.body.code).toBe('range-not-satisfiable');
    expect(res.headers['content-range']).toBe('bytes */1000');
  });
});

describe('deleting', () => {
  it('in a draft never submitted: 204, the row is marked deleted and the file is gone', async () => {
    const id = await draft();
    const res = await upload(w.applicantA, id, [criteria('E3'), file('drop.png', png('to-delete'))]);
    const item = res.body.items[0];
    const [row] = await evidenceRows(id);
    const stored = (await filesOnDisk()).filter((p) => p.endsWith(row.storage_key));
    expect(stored).toHaveLength(1);
    expect((await w.leadA.api.delete(`/applications/${id}/evidence/${item.id}`)).status).toBe(403);
    const deleted = await w.applicantA.api.delete(`/applications/${id}/evidence/${item.id}`);
    expect(deleted.status).toBe(204);
    expect((await filesOnDisk()).filter((p) => p.endsWith(row.storage_key))).toHaveLength(0);
    const [after] = await evidenceRows(id);
    expect(after.deleted_at).not.toBeNull();
    expect((await w.applicantA.api.get(`/applications/${id}/evidence/${item.id}`)).status).toBe(404);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence`)).body.items).toEqual([]);
    expect((await w.applicantA.api.delete(`/applications/${id}/evidence/${item.id}`)).status).toBe(404);
    expect((await history(id, 'EVIDENCE_DELETED')).map((h) => h.payload.evidenceId)).toEqual([item.id]);
    // The same bytes can be uploaded again afterwards, as a new item.
    const again = await upload(w.applicantA, id, [criteria('E3'), file('drop.png', png('to-delete'))]);
    expect(again.status).toBe(201);
    expect(again.body.items[0].id).not.toBe(item.id);
  });

  it('an admin may delete too', async () => {
    const id = await draft();
    const item = (await upload(w.applicantA, id, [criteria('S1'), file('admin.pdf', pdf('admin-delete'))]))
      .body.items[0];
    expect((await w.admin.api.delete(`/applications/${id}/evidence/${item.id}`)).status).toBe(204);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence/${item.id}`)).status).toBe(404);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence`)).body.items).toEqual([]);
  });
});

describe('file names', () => {
  it('Content-Disposition has an ASCII fallback without quotes or backslashes, and the exact name', () => {
    expect(contentDisposition('a "b" \\ c.pdf')).toBe(
      `attachment; filename="a _b_ _ c.pdf"; filename*=UTF-8''a%20%22b%22%20%5C%20c.pdf`,
    );
    expect(contentDisposition('写真.jpg')).toBe(
      `attachment; filename="__.jpg"; filename*=UTF-8''%E5%86%99%E7%9C%9F.jpg`,
    );
    expect(contentDisposition("it's (1).pdf")).toContain(`filename*=UTF-8''it%27s%20%281%29.pdf`);
  });

  it('sanitising keeps the extension when shortening to 255 characters', () => {
    const long = sanitiseFilename(`${'é'.repeat(300)}.pdf`);
    expect(Array.from(long)).toHaveLength(255);
    expect(long.endsWith('é.pdf')).toBe(true);
    expect(sanitiseFilename('C:\\Users\\me\\..\\policy.pdf')).toBe('policy.pdf');
    expect(sanitiseFilename('\u0000\u001f')).toBe('file');
    expect(sanitiseFilename('.htaccess')).toBe('htaccess');
  });
});

describe('the API document', () => {
  it('describes the evidence routes', async () => {
    const doc = (await w.anonymous.get('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/applications/{id}/evidence',
        '/applications/{id}/evidence/{eid}',
        '/applications/{id}/evidence/{eid}/content',
      ]),
    );
    expect(doc.paths['/applications/{id}/evidence'].post.requestBody.content).toHaveProperty(
      'multipart/form-data',
    );
  });
});
