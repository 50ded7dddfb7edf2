import { describe, expect, it } from '@jest/globals';
import { event, ok, panelOfThree, review, SCHOOL_CODES, uploadEvidence } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

const { t, w } = useWorld();

const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe('the award cycle, end to end over HTTP', () => {
  let id: string;
  let panel: Actor[];
  let submittedAt: string;

  it('a new draft says what stands between it and submission', async () => {
    const created = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201);
    id = created.id;
    expect(created.state).toBe('draft');
    expect(created.kind).toBe('initial');
    expect(created.criteria.map((c: { code: string }) => c.code)).toEqual(SCHOOL_CODES);
    expect(created.allowedEvents).toEqual(['WITHDRAW']);
    expect(created.blockers.SUBMIT).toEqual(
      expect.arrayContaining([
        'The City of Sanctuary pledge has not been signed',
        expect.stringContaining('E2'),
      ]),
    );
    const refused = await event(w.applicantA, id, { type: 'SUBMIT' });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('guard-failed');
    expect(refused.body.blockers.length).toBeGreaterThan(0);
  });

  it('a second open application for the same organisation is refused', async () => {
    const again = await w.leadA.api.post('/applications', { organisationId: w.orgA });
    expect(again.status).toBe(409);
    expect(again.body.applicationId).toBe(id);
  });

  it('with the pledge, answers and evidence the school submits', async () => {
    ok(
      await w.applicantA.api.post(`/organisations/${w.orgA}/pledge`, {
        signatoryName: 'Ms Head',
        signatoryRole: 'Headteacher',
      }),
      201,
    );
    for (const code of SCHOOL_CODES)
      ok(await w.applicantA.api.put(`/applications/${id}/answers/${code}`, { text: `Our work on ${code}` }));
    expect((await uploadEvidence(t.app, w.applicantA, id, SCHOOL_CODES, 'evidence-folder')).status).toBe(201);
    const draft = ok(await w.applicantA.api.get(`/applications/${id}`));
    expect(draft.allowedEvents).toContain('SUBMIT');
    expect(draft.evidenceCounts.E2).toBe(1);
    const submitted = ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
    expect(submitted.state).toBe('submitted');
    expect(submitted.version).toBe(2);
    submittedAt = new Date().toISOString();
    const locked = await w.applicantA.api.put(`/applications/${id}/answers/L1`, { text: 'changed' });
    expect(locked.status).toBe(409);
  });

  it('the lead accepts, forms a panel with lived experience and starts the review', async () => {
    const accepted = ok(await event(w.leadA, id, { type: 'ACCEPT' }));
    expect(accepted.state).toBe('appraisal.panelForming');
    const early = await event(w.leadA, id, { type: 'START_REVIEW' });
    expect(early.status).toBe(422);
    expect(early.body.blockers.join(' ')).toMatch(/at least 3/);
    panel = await toReviewingFromPanelForming();
    const app = ok(await w.leadA.api.get(`/applications/${id}`));
    expect(app.state).toBe('appraisal.reviewing');
    expect(app.panel).toHaveLength(3);
    expect(app.panel[0].livedExperience).toBe(true);
    const seenBySchool = ok(await w.applicantA.api.get(`/applications/${id}`));
    expect(seenBySchool.panel[0]).not.toHaveProperty('livedExperience');
  });

  async function toReviewingFromPanelForming() {
    const members = await panelOfThree(t.app, w, 'cycle');
    for (const m of members) ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: m.id }));
    ok(await event(w.leadA, id, { type: 'START_REVIEW' }));
    return members;
  }

  it('each panel member reviews alone; the last review brings the panel to consensus', async () => {
    ok(await event(panel[0], id, review('met')));
    const twice = await event(panel[0], id, review('met'));
    expect(twice.status).toBe(422);
    ok(await event(panel[1], id, review('not_yet')));
    const last = ok(await event(panel[2], id, review('met')));
    expect(last.state).toBe('appraisal.consensus');
    expect((await w.applicantA.api.get(`/applications/${id}/reviews`)).status).toBe(403);
    expect(ok(await w.leadA.api.get(`/applications/${id}/reviews`)).items).toHaveLength(3);
    const own = ok(await panel[1].api.get(`/applications/${id}/reviews`));
    expect(own.items).toHaveLength(1);
    expect(own.items[0].appraiserId).toBe(panel[1].id);
  });

  it('feedback, the school’s response and a meeting follow', async () => {
    const criteria = Object.fromEntries(
      SCHOOL_CODES.map((c) => [
        c,
        { judgement: c === 'E2' ? 'further_evidence' : 'met', feedback: `About ${c}` },
      ]),
    );
    const fed = ok(
      await event(w.leadA, id, {
        type: 'SEND_FEEDBACK',
        criteria,
        questions: ['How do pupils shape the work?'],
      }),
    );
    expect(fed.state).toBe('awaitingResponse');
    const wrong = await event(w.applicantA, id, { type: 'RESPOND', answers: [] });
    expect(wrong.status).toBe(422);
    expect(
      ok(await event(w.applicantA, id, { type: 'RESPOND', answers: ['Through the pupil council'] })).state,
    ).toBe('meeting');
    ok(await event(w.leadA, id, { type: 'SCHEDULE_MEETING', at: inFuture(7), mode: 'online' }));
    const met = ok(
      await event(w.leadA, id, {
        type: 'RECORD_MEETING',
        heldAt: new Date().toISOString(),
        notes: 'A warm visit',
      }),
    );
    expect(met.meeting.notes).toBe('A warm visit');
  });

  it('the panel asks for further evidence; the school resubmits and round 2 begins with the same panel', async () => {
    const noRequests = await event(w.leadA, id, {
      type: 'DECIDE',
      outcome: 'further_evidence',
      rationale: 'More on E2',
    });
    expect(noRequests.status).toBe(422);
    const awardRefused = await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Yes' });
    expect(awardRefused.status).toBe(422);
    const decided = ok(
      await event(w.leadA, id, {
        type: 'DECIDE',
        outcome: 'further_evidence',
        rationale: 'Pupil voice needs showing',
        requests: [{ criterion: 'E2', request: 'Minutes of the pupil council' }],
        dueBy: inFuture(60),
      }),
    );
    expect(decided.state).toBe('furtherEvidenceRequested');
    const tooSoon = await event(w.applicantA, id, { type: 'RESUBMIT' });
    expect(tooSoon.status).toBe(422);
    expect(tooSoon.body.blockers).toEqual(['Criterion E2 has no new evidence since the decision']);
    expect((await uploadEvidence(t.app, w.applicantA, id, ['E2'], 'pupil-council-minutes')).status).toBe(201);
    const round2 = ok(await event(w.applicantA, id, { type: 'RESUBMIT' }));
    expect(round2.state).toBe('appraisal.reviewing');
    expect(round2.round).toBe(2);
    expect(round2.panel.map((m: { userId: string }) => m.userId)).toEqual(panel.map((m) => m.id));
  });

  it('round 2 ends in an award, which appears on the public register', async () => {
    for (const member of panel) ok(await event(member, id, review('met')));
    const awarded = ok(
      await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }),
    );
    expect(awarded.state).toBe('awarded');
    expect(awarded.allowedEvents).toEqual([]);
    const award = ok(await w.applicantA.api.get(`/awards/${awarded.awardId}`));
    expect(award.state).toBe('active');
    expect(award.current).toBe(true);
    const threeYearsOn = new Date(award.awardedAt);
    threeYearsOn.setUTCFullYear(threeYearsOn.getUTCFullYear() + 3);
    expect(award.expiresAt).toBe(threeYearsOn.toISOString());
    const register = ok(await w.anonymous.get('/register'));
    expect(register.items.map((r: { organisationName: string }) => r.organisationName)).toContain(
      'Hillfields Primary School',
    );
    expect(JSON.stringify(register)).not.toMatch(/appraiser|panel|evidence/i);
    expect((await w.leadB.api.get(`/awards/${awarded.awardId}`)).status).toBe(404);
  });

  it('a renewal opens pre-filled and puts the award into renewing', async () => {
    const initialAgain = await w.applicantA.api.post('/applications', {
      organisationId: w.orgA,
      kind: 'initial',
    });
    expect(initialAgain.status).toBe(422);
    const renewal = ok(
      await w.applicantA.api.post('/applications', { organisationId: w.orgA, kind: 'renewal' }),
      201,
    );
    expect(renewal.kind).toBe('renewal');
    expect(renewal.state).toBe('draft');
    expect(renewal.answers.L1).toBe('Our work on L1');
    const first = ok(await w.leadA.api.get(`/applications/${id}`));
    const award = ok(await w.admin.api.get(`/awards/${first.awardId}`));
    expect(award.state).toBe('renewing');
    expect(award.current).toBe(true);
    // Withdrawing the renewal returns the award to renewalDue (RENEWAL_FAILED).
    ok(await event(w.applicantA, renewal.id, { type: 'WITHDRAW', reason: 'Not this year' }));
    expect(ok(await w.admin.api.get(`/awards/${first.awardId}`)).state).toBe('renewalDue');
  });

  it('the history holds every step; the school never sees individual reviews', async () => {
    const lead = ok(await w.leadA.api.get(`/applications/${id}/history`));
    const types = lead.items.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('CREATED');
    for (const t of [
      'SUBMIT',
      'ACCEPT',
      'ASSIGN_APPRAISER',
      'START_REVIEW',
      'SUBMIT_REVIEW',
      'SEND_FEEDBACK',
      'RESPOND',
      'DECIDE',
      'RESUBMIT',
      'EVIDENCE_UPLOADED',
    ]) {
      expect(types).toContain(t);
    }
    expect(lead.items.map((e: { seq: number }) => e.seq)).toEqual(
      lead.items.map((_: unknown, i: number) => i + 1),
    );
    const reviewLine = lead.items.find((e: { type: string }) => e.type === 'SUBMIT_REVIEW');
    expect(reviewLine.payload.summary).toBe('A welcoming school');
    const school = ok(await w.applicantA.api.get(`/applications/${id}/history`));
    const hidden = school.items.find((e: { type: string }) => e.type === 'SUBMIT_REVIEW');
    expect(hidden.payload).toEqual({});
    expect(hidden.actorId).toBeNull();
  });

  it('?asOf= shows the application as it stood then', async () => {
    const then = ok(await w.leadA.api.get(`/applications/${id}?asOf=${encodeURIComponent(submittedAt)}`));
    expect(then.state).toBe('submitted');
    expect(then.version).toBe(2);
    expect(then.allowedEvents).toEqual([]);
    const before = await w.leadA.api.get(`/applications/${id}?asOf=2000-01-01T00:00:00Z`);
    expect(before.status).toBe(404);
  });

  it('lists are scoped: the other area’s lead sees none of it', async () => {
    const mine = ok(await w.leadA.api.get('/applications'));
    expect(mine.items.map((a: { id: string }) => a.id)).toContain(id);
    const other = ok(await w.leadB.api.get('/applications'));
    expect(other.items).toEqual([]);
    expect((await w.leadB.api.get(`/applications/${id}`)).status).toBe(404);
    const byState = ok(await w.admin.api.get('/applications?status=awarded'));
    expect(byState.items.map((a: { id: string }) => a.id)).toEqual([id]);
  });
});
