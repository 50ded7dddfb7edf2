import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import sharp from 'sharp';
import { sweepEvidenceOrphans } from '../../src/evidence/maintenance.ts';
import { createEvidenceStore } from '../../src/storage/index.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { resubmitAndAward, toFurtherEvidence } from '../helpers/decisions.ts';
import { jpegWithLocation, pngWithLocation, webpWithLocation } from '../helpers/photos.ts';
import { useS3Server } from '../helpers/s3.ts';
import { type StorageKind, useWorldOnStorage } from '../helpers/storage.ts';
import type { Actor } from '../helpers/world.ts';
import { multipart } from './fixtures.ts';

const s3 = useS3Server();

describe.each<StorageKind>(['local', 's3'])('previews of evidence images (%s storage)', (kind) => {
  const { t, w, storage } = useWorldOnStorage(kind, s3);

  async function upload(applicationId: string, filename: string, content: Buffer, criterion = 'L1') {
    const { body, contentType } = multipart([
      { name: 'criteria', value: criterion },
      { name: 'file', filename, content },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url: `/applications/${applicationId}/evidence`,
      headers: { authorization: `Bearer ${w.applicantA.token}`, 'content-type': contentType },
      payload: body,
    });
    expect(res.statusCode).toBe(201);
    return JSON.parse(res.body).items[0];
  }

  const get = (actor: Actor | null, url: string) =>
    t.app.inject({
      method: 'GET',
      url,
      headers: actor ? { authorization: `Bearer ${actor.token}` } : {},
    });

  it.each([
    ['garden.jpg', jpegWithLocation],
    ['poster.png', pngWithLocation],
    ['mural.webp', webpWithLocation],
  ] as const)(
    '%s gets a small upright WebP preview beside it, served privately cacheable',
    async (name, make) => {
      const applicationId = await draftOfNewSchool(t.database.db, w, `Preview ${kind}`);
      const item = await upload(applicationId, name, await make());
      expect(item.hasPreview).toBe(true);
      expect(await storage().committed()).toEqual(expect.arrayContaining([item.id, `${item.id}-preview`]));

      const res = await get(w.applicantA, `/applications/${applicationId}/evidence/${item.id}/preview`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/webp');
      expect(res.headers['cache-control']).toBe('private, max-age=86400');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const preview = await sharp(res.rawPayload).metadata();
      expect(preview.format).toBe('webp');
      // The photo is 96×64 with orientation 6 (turn a quarter clockwise): upright it is 64×96.
      expect([preview.width, preview.height]).toEqual([64, 96]);
      expect(preview.exif).toBeUndefined();
      const head = await t.app.inject({
        method: 'HEAD',
        url: `/applications/${applicationId}/evidence/${item.id}/preview`,
        headers: { authorization: `Bearer ${w.applicantA.token}` },
      });
      expect([head.statusCode, head.headers['content-type']]).toEqual([200, 'image/webp']);

      const lines = await t.database.db
        .selectFrom('application_events')
        .select('payload')
        .where('application_id', '=', applicationId)
        .where('type', '=', 'EVIDENCE_DOWNLOADED')
        .execute();
      // One line for the GET; the HEAD opened nothing and records nothing.
      expect(lines.map((l) => l.payload)).toEqual([{ evidenceId: item.id, filename: name, preview: true }]);
    },
  );

  it('a PDF has none: hasPreview false and 404', async () => {
    const applicationId = await draftOfNewSchool(t.database.db, w, `Preview ${kind}`);
    const item = await upload(applicationId, 'minutes.pdf', Buffer.from('%PDF-1.4\n% minutes\n%%EOF\n'));
    expect(item.hasPreview).toBe(false);
    const res = await get(w.applicantA, `/applications/${applicationId}/evidence/${item.id}/preview`);
    expect(res.statusCode).toBe(404);
    expect(await storage().committed()).not.toContain(`${item.id}-preview`);
  });

  it('the file’s own rule: whoever may not read the evidence gets the same 403 or 404 for its preview', async () => {
    const applicationId = await draftOfNewSchool(t.database.db, w, `Preview ${kind}`);
    const item = await upload(applicationId, 'garden.jpg', await jpegWithLocation());
    const base = `/applications/${applicationId}/evidence/${item.id}`;
    const statuses: number[] = [];
    for (const actor of [w.leadA, w.admin, w.applicantB, w.leadB, w.appraiserA]) {
      const [content, preview] = [await get(actor, `${base}/content`), await get(actor, `${base}/preview`)];
      expect(preview.statusCode).toBe(content.statusCode);
      statuses.push(preview.statusCode);
    }
    expect(statuses).toContain(404);
    expect((await get(null, `${base}/preview`)).statusCode).toBe(401);
    expect(
      (await get(w.applicantA, `/applications/${applicationId}/evidence/${crypto.randomUUID()}/preview`))
        .statusCode,
    ).toBe(404);
  });

  it('the panel sees previews while it reviews, and gets 403 after the decision, as for the file', async () => {
    const { id, panel } = await toFurtherEvidence(t.app, w, `previews-${kind}`);
    const item = await upload(id, 'garden.jpg', await jpegWithLocation({ latitude: 20 }), 'E2');
    const url = `/applications/${id}/evidence/${item.id}/preview`;
    for (const member of panel) expect((await get(member, url)).statusCode).toBe(200);
    await resubmitAndAward(t.app, w, id, panel);
    for (const member of panel) {
      expect((await get(member, url)).statusCode).toBe(403);
      expect((await get(member, `/applications/${id}/evidence/${item.id}/content`)).statusCode).toBe(403);
    }
  });

  it('the orphan sweep keeps the preview of a live item and removes one whose item is gone', async () => {
    const applicationId = await draftOfNewSchool(t.database.db, w, `Preview ${kind}`);
    const item = await upload(applicationId, 'garden.jpg', await jpegWithLocation({ latitude: 40 }));
    const store = await createEvidenceStore(t.config);
    const sweep = () => sweepEvidenceOrphans({ db: t.database.db, store }, { olderThanMs: -60_000 });
    await sweep();
    expect(await storage().committed()).toEqual(expect.arrayContaining([item.id, `${item.id}-preview`]));
    await t.database.db
      .updateTable('evidence')
      .set({ deleted_at: sql<Date>`now()` })
      .where('id', '=', item.id)
      .execute();
    await sweep();
    const left = await storage().committed();
    expect(left).not.toContain(item.id);
    expect(left).not.toContain(`${item.id}-preview`);
  });

  it('deleting the evidence removes its preview too', async () => {
    const applicationId = await draftOfNewSchool(t.database.db, w, `Preview ${kind}`);
    const item = await upload(applicationId, 'garden.jpg', await jpegWithLocation({ latitude: 12 }));
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/applications/${applicationId}/evidence/${item.id}`,
      headers: { authorization: `Bearer ${w.applicantA.token}` },
    });
    expect(res.statusCode).toBe(204);
    expect(await storage().committed()).not.toEqual(expect.arrayContaining([`${item.id}-preview`]));
    expect(await storage().committed()).not.toContain(item.id);
  });
});
