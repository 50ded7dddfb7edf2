import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, toReviewing, uploadEvidence } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

/** Evidence rules that depend on the workflow state (SPEC §4, §3 privacy). */

const { t, w } = useWorld();
let id: string;
let evidenceId: string;
let panel: Actor[];
beforeAll(async () => {
  id = await readyDraft(t.app, w);
  const list = ok(await w.applicantA.api.get(`/applications/${id}/evidence`));
  evidenceId = list.items[0].id;
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
});

describe('evidence once the application is submitted', () => {
  it('can no longer be deleted, nor added while the panel holds it', async () => {
    const del = await w.applicantA.api.delete(`/applications/${id}/evidence/${evidenceId}`);
    expect(del.status).toBe(409);
    expect(del.body.code).toBe('illegal-transition');
    const add = await uploadEvidence(t.app, w.applicantA, id, ['L1'], 'late-addition');
    expect(add.status).toBe(409);
    expect(ok(await w.applicantA.api.get(`/applications/${id}/evidence`)).items).toHaveLength(1);
  });

  it('is readable by the assigned panel, and each download is recorded in the history', async () => {
    panel = await toReviewing(t.app, w, id, 'evidence');
    const listed = ok(await panel[0].api.get(`/applications/${id}/evidence`));
    expect(listed.items.map((e: { id: string }) => e.id)).toEqual([evidenceId]);
    const download = await panel[0].api.get(`/applications/${id}/evidence/${evidenceId}/content`);
    expect(download.status).toBe(200);
    expect(download.text.startsWith('%PDF-')).toBe(true);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(String(download.headers['content-disposition'])).toMatch(/^attachment;/);
    const history = ok(await w.leadA.api.get(`/applications/${id}/history`));
    const downloads = history.items.filter((e: { type: string }) => e.type === 'EVIDENCE_DOWNLOADED');
    expect(downloads.map((e: { actorId: string }) => e.actorId)).toEqual([panel[0].id]);
  });

  it('stops being readable by an appraiser who leaves the panel', async () => {
    ok(await event(w.leadA, id, { type: 'UNASSIGN_APPRAISER', userId: panel[0].id }));
    expect((await panel[0].api.get(`/applications/${id}/evidence/${evidenceId}/content`)).status).toBe(404);
    expect((await w.applicantB.api.get(`/applications/${id}/evidence`)).status).toBe(404);
  });
});
