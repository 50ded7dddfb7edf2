import { describe, expect, it } from '@jest/globals';
import { assertMayReadEvidence, mayReadEvidence, type Relations } from '../../src/domain/access.ts';
import type { EventRole } from '../../workflows/index.ts';

/** SPEC §3: who may read an application's evidence files, state by state (src/domain/access.ts). */

const relations = (...roles: EventRole[]): Relations => new Set(roles);
const inState = (state: string) => {
  const [top, nested] = state.split('.');
  return { value: nested ? { [top]: nested } : top };
};

const OPEN = [
  'draft',
  'submitted',
  'appraisal.panelForming',
  'appraisal.reviewing',
  'appraisal.consensus',
  'awaitingResponse',
  'meeting',
  // Not final: the same panel reviews the further evidence after RESUBMIT.
  'furtherEvidenceRequested',
];
const FINAL = ['awarded', 'notAwarded', 'withdrawn', 'lapsed'];

describe('mayReadEvidence', () => {
  it('the organisation, the lead and admins read the files in every state', () => {
    for (const role of ['applicant', 'lead', 'admin'] as const)
      for (const state of [...OPEN, ...FINAL])
        expect(mayReadEvidence(relations(role), inState(state))).toBe(true);
  });

  it('an appraiser reads them until the decision is final, further evidence included', () => {
    for (const state of OPEN) expect(mayReadEvidence(relations('appraiser'), inState(state))).toBe(true);
    for (const state of FINAL) expect(mayReadEvidence(relations('appraiser'), inState(state))).toBe(false);
  });

  it('an appraiser who is also the area’s lead keeps the lead’s reach', () => {
    expect(mayReadEvidence(relations('appraiser', 'lead'), inState('awarded'))).toBe(true);
  });

  it('nobody else', () => {
    expect(mayReadEvidence(relations(), inState('meeting'))).toBe(false);
  });
});

describe('assertMayReadEvidence', () => {
  it('forbids an appraiser after the decision (the application stays in scope)', () => {
    expect(() => assertMayReadEvidence(relations('appraiser'), inState('notAwarded'))).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
    expect(() => assertMayReadEvidence(relations('appraiser'), inState('meeting'))).not.toThrow();
  });

  it('answers not-found to someone with no relation at all', () => {
    expect(() => assertMayReadEvidence(relations(), inState('meeting'))).toThrow(
      expect.objectContaining({ code: 'not-found' }),
    );
  });
});
