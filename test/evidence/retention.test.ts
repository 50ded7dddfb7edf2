import { describe, expect, it } from '@jest/globals';
import { runEvidenceRetention } from '../../src/evidence/maintenance.ts';
import { createEvidenceStore } from '../../src/storage/index.ts';
import { event, ok, uploadEvidence } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';

/** SPEC §3: evidence files of closed applications are removed after the retention; metadata and history stay. */
const { t, w } = useWorld({ EVIDENCE_RETENTION_DAYS: '1095' });

const DAY = 24 * 60 * 60 * 1000;

describe('evidence retention', () => {
  it('lists (dry run), then removes the files of an application closed longer ago than the retention', async () => {
    const open = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201)
      .id as string;
    const kept = ok(await uploadEvidence(t.app, w.applicantA, open, ['L1'], 'open-app'), 201).items[0];
    ok(await event(w.applicantA, open, { type: 'WITHDRAW', reason: 'the head teacher left' }));
    const closedRow = ok(await w.applicantA.api.get(`/applications/${open}`));
    expect(closedRow.state).toBe('withdrawn');
    const other = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201)
      .id as string;
    ok(await uploadEvidence(t.app, w.applicantA, other, ['L1'], 'still-open'), 201);

    const store = await createEvidenceStore(t.config);
    const deps = { db: t.database.db, store };
    const soon = await runEvidenceRetention(deps, {
      retentionDays: 1095,
      now: new Date(Date.now() + 1000 * DAY),
    });
    expect(soon.files).toEqual([]);

    const later = new Date(Date.now() + 1096 * DAY);
    const dry = await runEvidenceRetention(deps, { retentionDays: 1095, now: later, dryRun: true });
    expect(dry.files).toEqual([
      expect.objectContaining({
        applicationId: open,
        evidenceId: kept.id,
        state: 'withdrawn',
        filename: 'open-app.pdf',
      }),
    ]);
    expect(await store.exists(kept.id)).toBe(true);

    const run = await runEvidenceRetention(deps, { retentionDays: 1095, now: later });
    expect(run.files).toHaveLength(1);
    expect(await store.exists(kept.id)).toBe(false);
    // A second run finds nothing more.
    expect((await runEvidenceRetention(deps, { retentionDays: 1095, now: later })).files).toEqual([]);

    const listed = ok(await w.applicantA.api.get(`/applications/${open}/evidence`)).items;
    expect(listed).toEqual([
      expect.objectContaining({
        id: kept.id,
        sha256: kept.sha256,
        fileRemoved: expect.objectContaining({ reason: 'retention' }),
      }),
    ]);
    const download = await w.applicantA.api.get(`/applications/${open}/evidence/${kept.id}/content`);
    expect(download.status).toBe(404);
    expect(download.body.detail).toMatch(/removed \(retention\)/);
    const history = ok(await w.applicantA.api.get(`/applications/${open}/history`));
    const items = Array.isArray(history) ? history : history.items;
    expect(items.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['EVIDENCE_UPLOADED', 'WITHDRAW', 'EVIDENCE_REMOVED_BY_RETENTION']),
    );
    // The open application's evidence is untouched.
    expect(ok(await w.applicantA.api.get(`/applications/${other}/evidence`)).items[0].fileRemoved).toBeNull();
  });
});
