import { describe, expect, it } from '@jest/globals';
import {
  event,
  ok,
  panelOfThree,
  readyDraft,
  review,
  SCHOOL_CODES,
  uploadEvidence,
} from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

/**
 * A transition answers with the caller's view of the application after it (SPEC §5), built from the
 * transition's own result where it can be: that answer, and its ETag, must be exactly what reading the
 * application right after gives the same caller, whatever the event; and the view's allowedEvents and
 * blockers must say what sending each event would do.
 */
const { t, w } = useWorld();

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** Sends the event, then reads the application as the same caller: the two must agree. */
async function sendAndCompare(actor: Actor, id: string, body: Record<string, unknown>) {
  const answer = await event(actor, id, body);
  ok(answer);
  const read = await actor.api.get(`/applications/${id}`);
  ok(read);
  expect(answer.body).toEqual(read.body);
  expect(answer.headers.etag).toBe(read.headers.etag);
  return answer.body;
}

describe('the answer to a transition is the view a read gives', () => {
  it('an appraiser who declares a conflict gets the answer to their own event, then no longer sees it', async () => {
    const id = await readyDraft(t.app, w);
    ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
    ok(await event(w.leadA, id, { type: 'ACCEPT' }));
    const panel = await panelOfThree(t.app, w, 'answers-conflict');
    for (const member of panel) ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: member.id }));
    ok(await event(w.leadA, id, { type: 'START_REVIEW' }));
    const declared = ok(
      await event(panel[2], id, { type: 'DECLARE_CONFLICT', reason: 'My sister teaches there' }),
    );
    expect(declared.allowedEvents).toEqual([]);
    expect(declared.panel.map((m: { userId: string }) => m.userId)).not.toContain(panel[2].id);
    expect((await panel[2].api.get(`/applications/${id}`)).status).toBe(404);
    // The others' views (and the lead's) moved on with it.
    const lead = ok(await w.leadA.api.get(`/applications/${id}`));
    expect(lead.version).toBe(declared.version);
    await sendAndCompare(w.applicantA, id, { type: 'WITHDRAW', reason: 'Not this year' });
  });

  it('a draft previews SUBMIT from its own pledge, answers, evidence and area', async () => {
    const id = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201).id as string;
    const draft = ok(await w.applicantA.api.get(`/applications/${id}`));
    // The organisation pledged in an earlier test: what stands in the way is answers and evidence.
    expect(draft.blockers.SUBMIT).toEqual([
      ...SCHOOL_CODES.map((c) => `Criterion ${c} has no answer yet`),
      ...SCHOOL_CODES.map((c) => `Criterion ${c} has no evidence yet`),
    ]);
    // A blank answer is no answer.
    ok(await w.applicantA.api.put(`/applications/${id}/answers/L1`, { text: '   ' }));
    ok(await w.applicantA.api.put(`/applications/${id}/answers/L2`, { text: 'Our work' }));
    ok(await uploadEvidence(t.app, w.applicantA, id, ['L1'], `answers-draft-${id}`), 201);
    const partial = ok(await w.applicantA.api.get(`/applications/${id}`));
    expect(partial.blockers.SUBMIT).toContain('Criterion L1 has no answer yet');
    expect(partial.blockers.SUBMIT).not.toContain('Criterion L2 has no answer yet');
    expect(partial.blockers.SUBMIT).not.toContain('Criterion L1 has no evidence yet');
    // Sending it is refused for the same reasons the preview gives.
    const refused = await event(w.applicantA, id, { type: 'SUBMIT' });
    expect(refused.status).toBe(422);
    expect(refused.body.blockers).toEqual(partial.blockers.SUBMIT);
    ok(await event(w.applicantA, id, { type: 'WITHDRAW', reason: 'Test done' }));
  });
  // Last: it ends in an award, after which the organisation opens only renewals.
  it('through a whole cycle, for every event and every sender', async () => {
    const id = await readyDraft(t.app, w);
    await sendAndCompare(w.applicantA, id, { type: 'SUBMIT' });
    await sendAndCompare(w.leadA, id, { type: 'RETURN', reason: 'Say more about E2' });
    await sendAndCompare(w.applicantA, id, { type: 'SUBMIT' });
    const forming = await sendAndCompare(w.leadA, id, { type: 'ACCEPT' });
    expect(forming.blockers.START_REVIEW).toBeDefined();
    const panel = await panelOfThree(t.app, w, 'answers');
    const spare = (await panelOfThree(t.app, w, 'answers-spare'))[1];
    for (const member of [spare, ...panel]) {
      const assigned = await sendAndCompare(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: member.id });
      expect(assigned.panel.map((m: { userId: string }) => m.userId)).toContain(member.id);
    }
    await sendAndCompare(w.leadA, id, { type: 'UNASSIGN_APPRAISER', userId: spare.id });
    const ready = ok(await w.leadA.api.get(`/applications/${id}`));
    expect(ready.allowedEvents).toContain('START_REVIEW');
    const reviewing = await sendAndCompare(w.leadA, id, { type: 'START_REVIEW' });
    expect(reviewing.state).toBe('appraisal.reviewing');
    for (const member of panel) await sendAndCompare(member, id, review('met'));
    await sendAndCompare(w.leadA, id, {
      type: 'SEND_FEEDBACK',
      criteria: Object.fromEntries(SCHOOL_CODES.map((c) => [c, { judgement: 'met', feedback: `On ${c}` }])),
      questions: ['How do pupils lead?'],
    });
    await sendAndCompare(w.applicantA, id, { type: 'RESPOND', answers: ['Through the council'] });
    await sendAndCompare(w.leadA, id, { type: 'SCHEDULE_MEETING', at: inDays(7), mode: 'online' });
    await sendAndCompare(w.leadA, id, {
      type: 'RECORD_MEETING',
      heldAt: new Date().toISOString(),
      notes: 'A warm visit',
    });
    const further = await sendAndCompare(w.leadA, id, {
      type: 'DECIDE',
      outcome: 'further_evidence',
      rationale: 'Pupil voice needs showing',
      requests: [{ criterion: 'E2', request: 'Minutes of the pupil council' }],
      dueBy: inDays(60),
    });
    expect(further.state).toBe('furtherEvidenceRequested');
    // The applicant's view previews RESUBMIT from the evidence uploaded since the decision.
    const waiting = ok(await w.applicantA.api.get(`/applications/${id}`));
    expect(waiting.blockers.RESUBMIT).toEqual(['Criterion E2 has no new evidence since the decision']);
    await sendAndCompare(w.leadA, id, { type: 'EXTEND_DEADLINE', dueBy: inDays(90) });
    ok(await uploadEvidence(t.app, w.applicantA, id, ['E2'], `answers-minutes-${id}`), 201);
    const evidenced = ok(await w.applicantA.api.get(`/applications/${id}`));
    expect(evidenced.allowedEvents).toContain('RESUBMIT');
    expect(evidenced.blockers.RESUBMIT).toBeUndefined();
    await sendAndCompare(w.applicantA, id, { type: 'RESUBMIT' });
    for (const member of panel) await sendAndCompare(member, id, review('met'));
    const awarded = await sendAndCompare(w.leadA, id, {
      type: 'DECIDE',
      outcome: 'award',
      rationale: 'Every criterion met',
    });
    expect(awarded.awardId).toBeDefined();
    expect(awarded.allowedEvents).toEqual([]);
  });
});
