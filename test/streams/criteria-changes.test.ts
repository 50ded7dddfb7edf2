import { describe, expect, it } from '@jest/globals';
import { criteriaChanges, criteriaProblems } from '../../src/streams/service.ts';

/** What a new criteria-set version changes, and what keeps it from being published (pure rules). */

const set = [
  { code: 'L1', process: 'learn' as const, title: 'Staff understand' },
  { code: 'E1', process: 'embed' as const, title: 'Policy welcomes' },
  { code: 'S1', process: 'share' as const, title: 'Pledge signed' },
];

describe('criteriaChanges', () => {
  it('matches criteria by code: added, removed, reworded (wording or process) and unchanged', () => {
    const next = [
      { code: 'L1', process: 'learn' as const, title: 'Staff and pupils understand' },
      { code: 'E1', process: 'share' as const, title: 'Policy welcomes' },
      { code: 'S2', process: 'share' as const, title: 'Refugee Week' },
    ];
    const changes = criteriaChanges(set, next);
    expect(changes.added.map((c) => c.code)).toEqual(['S2']);
    expect(changes.removed.map((c) => c.code)).toEqual(['S1']);
    expect(changes.reworded.map((c) => [c.code, c.before.title, c.after.title, c.after.process])).toEqual([
      ['L1', 'Staff understand', 'Staff and pupils understand', 'learn'],
      ['E1', 'Policy welcomes', 'Policy welcomes', 'share'],
    ]);
    expect(changes.unchanged).toBe(0);
  });

  it('finds nothing to report for the same set', () => {
    expect(criteriaChanges(set, [...set])).toEqual({ added: [], removed: [], reworded: [], unchanged: 3 });
  });
});

describe('criteriaProblems', () => {
  it('names a code used twice (its second row) and the core processes left without a criterion', () => {
    expect(
      criteriaProblems([
        { code: 'L1', process: 'learn', title: 'a' },
        { code: 'L1', process: 'learn', title: 'b' },
      ]),
    ).toEqual([
      { kind: 'duplicate-code', index: 1, code: 'L1' },
      { kind: 'missing-process', processes: ['embed', 'share'] },
    ]);
    expect(criteriaProblems(set)).toEqual([]);
  });
});
