import { beforeAll, describe, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import { resubmitAndAward, toFurtherEvidence } from '../helpers/decisions.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

/**
 * SPEC §3: after the decision an appraiser keeps the application's summary and their own review, but
 * no longer its evidence files. What the application's own views show them (the evidence endpoints
 * are tested in test/evidence/after-decision.test.ts).
 */

const { t, w } = useWorld();
let id: string;
let panel: Actor[];
beforeAll(async () => {
  ({ id, panel } = await toFurtherEvidence(t.app, w, 'decided'));
  // A download by the panel, so the history holds a line naming a file.
  const [file] = ok(await panel[0].api.get(`/applications/${id}/evidence`)).items;
  expect((await panel[0].api.get(`/applications/${id}/evidence/${file.id}/content`)).status).toBe(200);
});

type Line = { type: string; payload: Record<string, unknown> };
const evidenceLines = async (actor: Actor) =>
  (ok(await actor.api.get(`/applications/${id}/history`)).items as Line[]).filter((l) =>
    l.type.startsWith('EVIDENCE_'),
  );

describe('while further evidence is requested', () => {
  it('the panel’s history still names the files (the same panel reviews again)', async () => {
    const lines = await evidenceLines(panel[1]);
    expect(lines.map((l) => l.type)).toEqual(['EVIDENCE_UPLOADED', 'EVIDENCE_DOWNLOADED']);
    for (const line of lines) expect(line.payload.filename).toEqual(expect.any(String));
  });
});

describe('after the award', () => {
  beforeAll(async () => {
    expect((await resubmitAndAward(t.app, w, id, panel)).state).toBe('awarded');
  });

  it('an appraiser keeps the summary, with evidence counts but no files', async () => {
    const view = ok(await panel[0].api.get(`/applications/${id}`));
    expect(view.state).toBe('awarded');
    expect(view.evidenceCounts.E2).toBe(2);
    expect(JSON.stringify(view)).not.toMatch(/\.pdf|sha256|storage/i);
  });

  it('an appraiser keeps their own reviews of both rounds, and only theirs', async () => {
    const reviews = ok(await panel[0].api.get(`/applications/${id}/reviews`)).items;
    expect(reviews.map((r: { round: number; appraiserId: string }) => [r.round, r.appraiserId])).toEqual([
      [1, panel[0].id],
      [2, panel[0].id],
    ]);
  });

  it('the history no longer gives an appraiser the files’ names, hashes or ids', async () => {
    const lines = await evidenceLines(panel[1]);
    expect(lines.map((l) => l.type)).toEqual([
      'EVIDENCE_UPLOADED',
      'EVIDENCE_DOWNLOADED',
      'EVIDENCE_UPLOADED',
    ]);
    for (const line of lines) expect(line.payload).toEqual({});
  });

  it('the organisation and the lead still see the file details in the history', async () => {
    for (const actor of [w.applicantA, w.leadA]) {
      const lines = await evidenceLines(actor);
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(line.payload.filename).toEqual(expect.any(String));
    }
  });
});
