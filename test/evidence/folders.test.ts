import { describe, expect, it } from '@jest/globals';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { multipart, pdf } from '../helpers/multipart.ts';
import { useWorld } from '../helpers/setup.ts';

/**
 * A browser's folder upload through the multipart API (SPEC §6): files named by their relative paths
 * are filed by their folders as a zip's entries are, when no criteria field is sent.
 */
const { t, w } = useWorld();

async function send(applicationId: string, fields: Record<string, string>, names: string[]) {
  const { body, contentType } = multipart(
    fields,
    names.map((filename, i) => ({
      filename,
      content: pdf(`${filename} ${i}`),
      contentType: 'application/pdf',
    })),
  );
  const res = await t.app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { authorization: `Bearer ${w.applicantA.token}`, 'content-type': contentType },
    payload: body,
  });
  return { status: res.statusCode, body: res.json() };
}

describe('a folder through the multipart API', () => {
  it('files each file by its criterion or process folder, looking through the chosen folder', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Folder');
    const res = await send(id, {}, [
      'Evidence/L1/assembly.pdf',
      'Evidence/embed/policy.pdf',
      'Evidence/Other/notes.pdf',
      'Evidence/loose.pdf',
      'Evidence/.DS_Store',
    ]);
    expect(res.status).toBe(201);
    const filed = Object.fromEntries(
      res.body.items.map((i: { filename: string; criteria: string[] }) => [i.filename, i.criteria]),
    );
    expect(filed).toEqual({ 'assembly.pdf': ['L1'], 'policy.pdf': ['E1', 'E2', 'E3'] });
    expect(res.body.skipped.map((s: { path: string }) => s.path).sort()).toEqual([
      'Evidence/.DS_Store',
      'Evidence/Other/notes.pdf',
      'Evidence/loose.pdf',
    ]);
  });

  it('files a chosen criterion folder itself by its name', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Folder');
    const res = await send(id, {}, ['S2/poster.pdf']);
    expect(res.status).toBe(201);
    expect(res.body.items[0].criteria).toEqual(['S2']);
  });

  it('files every file under a criteria field when one is sent, whatever its path', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Folder');
    const res = await send(id, { criteria: 'S1' }, ['Evidence/L1/a.pdf']);
    expect(res.status).toBe(201);
    expect(res.body.items[0]).toMatchObject({ filename: 'a.pdf', criteria: ['S1'] });
  });

  it('refuses a folder with nothing in a criterion folder, and a path that climbs out', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Folder');
    const none = await send(id, {}, ['Evidence/Photos/a.pdf']);
    expect(none.status).toBe(400);
    expect(none.body.detail).toMatch(/no files inside criterion folders/);
    const climbing = await send(id, {}, ['../L1/a.pdf']);
    expect(climbing.status).toBe(400);
    expect((await w.applicantA.api.get(`/applications/${id}/evidence`)).body.items).toEqual([]);
  });
});
