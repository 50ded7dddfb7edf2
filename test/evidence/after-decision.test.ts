import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok } from '../helpers/applications.ts';
import type { Client } from '../helpers/client.ts';
import { resubmitAndAward, toFurtherEvidence } from '../helpers/decisions.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

/**
 * SPEC §3: after the decision an appraiser keeps the application's summary and their own review, but
 * no longer its evidence files (list, metadata, content, archive). The rule is `assertMayReadEvidence`
 * in src/domain/access.ts; these tests pass once every evidence read in src/evidence/service.ts
 * (listEvidence, getEvidence, downloadEvidence, downloadEvidenceArchive) calls it on the application it
 * loaded, before it reads any evidence row. Until that wiring is in, the tests of a final decision fail.
 */

const { t, w } = useWorld();
let awarded: { id: string; panel: Actor[]; evidenceId: string };
let withdrawn: { id: string; panel: Actor[]; evidenceId: string };
beforeAll(async () => {
  // Organisation A may hold one open application, and none once awarded: withdraw the first one first.
  withdrawn = await toFurtherEvidence(t.app, w, 'withdrawn');
  ok(await event(w.applicantA, withdrawn.id, { type: 'WITHDRAW', reason: 'Not this year' }));
  awarded = await toFurtherEvidence(t.app, w, 'awarded');
});

const reads = (id: string, evidenceId: string) => ({
  list: `/applications/${id}/evidence`,
  metadata: `/applications/${id}/evidence/${evidenceId}`,
  content: `/applications/${id}/evidence/${evidenceId}/content`,
  archive: `/applications/${id}/evidence/archive`,
});

async function statuses(api: Client, id: string, evidenceId: string) {
  const out: Record<string, number> = {};
  for (const [what, url] of Object.entries(reads(id, evidenceId))) out[what] = (await api.get(url)).status;
  return out;
}

const allOk = { list: 200, metadata: 200, content: 200, archive: 200 };
const allForbidden = { list: 403, metadata: 403, content: 403, archive: 403 };

describe('while further evidence is requested the same panel will review again', () => {
  it('so the panel keeps reading the evidence files', async () => {
    const app = ok(await awarded.panel[0].api.get(`/applications/${awarded.id}`));
    expect(app.state).toBe('furtherEvidenceRequested');
    expect(await statuses(awarded.panel[0].api, awarded.id, awarded.evidenceId)).toEqual(allOk);
  });
});

describe('after the final decision', () => {
  beforeAll(async () => {
    expect((await resubmitAndAward(t.app, w, awarded.id, awarded.panel)).state).toBe('awarded');
  });

  it('an appraiser on the panel may no longer read the evidence: list, metadata, content, archive → 403', async () => {
    for (const member of awarded.panel)
      expect(await statuses(member.api, awarded.id, awarded.evidenceId)).toEqual(allForbidden);
    const refused = await awarded.panel[0].api.get(reads(awarded.id, awarded.evidenceId).content);
    expect(refused.body.code).toBe('forbidden');
  });

  it('the answer is the same for an evidence id that does not exist (nothing to probe)', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await statuses(awarded.panel[1].api, awarded.id, missing)).toEqual(allForbidden);
  });

  it('a refused download is not recorded as a download', async () => {
    type Line = { type: string; to: string | null };
    const history: Line[] = ok(await w.leadA.api.get(`/applications/${awarded.id}/history`)).items;
    const byPanelAfterAward = history
      .slice(history.findIndex((l) => l.type === 'DECIDE' && l.to === 'awarded'))
      .filter((l) => l.type.startsWith('EVIDENCE_'));
    expect(byPanelAfterAward).toEqual([]);
  });

  it('the organisation, its lead and admins still read the files', async () => {
    for (const actor of [w.applicantA, w.leadA, w.admin])
      expect(await statuses(actor.api, awarded.id, awarded.evidenceId)).toEqual(allOk);
  });

  it('a withdrawn application is closed to its panel too', async () => {
    expect(await statuses(withdrawn.panel[0].api, withdrawn.id, withdrawn.evidenceId)).toEqual(allForbidden);
    expect(await statuses(w.applicantA.api, withdrawn.id, withdrawn.evidenceId)).toEqual(allOk);
  });
});
