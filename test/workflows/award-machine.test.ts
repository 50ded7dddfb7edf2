import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { getShortestPaths, getStateNodes } from '@xstate/graph';
import { initialTransition, transition } from 'xstate';
import type { AwardEvent, AwardSnapshot } from '../../workflows/index.ts';
import {
  AWARD_EVENT_TYPES,
  AWARD_MACHINE_VERSION,
  acceptedAwardEventTypes,
  awardBlockers,
  awardEventBlockers,
  awardEventRoles,
  awardMachine,
  awardStatusOf,
  awardTimerDueAt,
  isCurrentAward,
  isFinal,
  pendingAwardTimers,
  persistAwardSnapshot,
  reviveAwardSnapshot,
  stateString,
} from '../../workflows/index.ts';

const EXPIRES_AT = '2029-09-01T00:00:00.000Z';
const RENEWAL_DUE_AT = '2029-06-03T00:00:00.000Z'; // 90 days before
const GRACE_ENDS_AT = '2030-02-28T00:00:00.000Z'; // 180 days after
const EARLY = '2027-01-01T00:00:00.000Z';
const BEFORE_GRACE_ENDS = '2029-12-01T00:00:00.000Z';

const system = (now: string) => ({ actorId: 'system', now });

const events = {
  renewalDue: (now = RENEWAL_DUE_AT) => ({ type: 'RENEWAL_DUE', facts: system(now) }) satisfies AwardEvent,
  renewalStarted: (now = EARLY) =>
    ({
      type: 'RENEWAL_STARTED',
      facts: { ...system(now), renewalApplicationId: 'renewal-1' },
    }) satisfies AwardEvent,
  renewed: (now = EARLY) =>
    ({ type: 'RENEWED', facts: { ...system(now), newAwardId: 'award-2' } }) satisfies AwardEvent,
  renewalFailed: (now = EARLY) => ({ type: 'RENEWAL_FAILED', facts: system(now) }) satisfies AwardEvent,
  expire: (now = EXPIRES_AT) => ({ type: 'EXPIRE', facts: system(now) }) satisfies AwardEvent,
  revoke: (reason = 'The school closed its sanctuary work') =>
    ({ type: 'REVOKE', facts: { actorId: 'admin-1', now: EARLY }, reason }) satisfies AwardEvent,
};

function start(): AwardSnapshot {
  return initialTransition(awardMachine, { expiresAt: EXPIRES_AT, renewalNoticeDays: 90, graceDays: 180 })[0];
}

function send(snapshot: AwardSnapshot, event: AwardEvent): AwardSnapshot {
  return transition(awardMachine, snapshot, event)[0];
}

function expectRefused(snapshot: AwardSnapshot, event: AwardEvent): string[] {
  expect(snapshot.can(event)).toBe(false);
  expect(send(snapshot, event)).toBe(snapshot);
  return awardEventBlockers(snapshot.context, event);
}

const renewalDue = () => send(start(), events.renewalDue());
const renewing = () => send(renewalDue(), events.renewalStarted());

describe('award machine', () => {
  it('exports its version and starts active and current', () => {
    expect(AWARD_MACHINE_VERSION).toBe(1);
    const snapshot = start();
    expect(stateString(snapshot)).toBe('active');
    expect(isCurrentAward(snapshot)).toBe(true);
    expect(acceptedAwardEventTypes(snapshot)).toEqual(['RENEWAL_DUE', 'RENEWAL_STARTED', 'EXPIRE', 'REVOKE']);
    expect(pendingAwardTimers(snapshot)).toEqual([
      { eventType: 'RENEWAL_DUE', dueAt: RENEWAL_DUE_AT },
      { eventType: 'EXPIRE', dueAt: EXPIRES_AT },
    ]);
  });

  it('computes when its timers fire', () => {
    expect(awardTimerDueAt(start().context, 'RENEWAL_DUE')).toBe(RENEWAL_DUE_AT);
    expect(awardTimerDueAt(start().context, 'EXPIRE')).toBe(EXPIRES_AT);
    expect(awardTimerDueAt(renewing().context, 'EXPIRE')).toBe(GRACE_ENDS_AT);
  });

  it('becomes due for renewal at expiry minus the notice, not before', () => {
    expect(expectRefused(start(), events.renewalDue(EARLY))).toEqual([
      'Renewal is not due until 3 June 2029',
    ]);
    const snapshot = renewalDue();
    expect(awardStatusOf(snapshot)).toBe('renewalDue');
    expect(snapshot.context.renewalDueAt).toBe(RENEWAL_DUE_AT);
    expect(isCurrentAward(snapshot)).toBe(true);
  });

  it('starts renewing from active or renewal due', () => {
    expect(stateString(send(start(), events.renewalStarted()))).toBe('renewing');
    const snapshot = renewing();
    expect(stateString(snapshot)).toBe('renewing');
    expect(snapshot.context.renewal).toEqual({ startedAt: EARLY, applicationId: 'renewal-1' });
    expect(isCurrentAward(snapshot)).toBe(true);
    expect(pendingAwardTimers(snapshot)).toEqual([{ eventType: 'EXPIRE', dueAt: GRACE_ENDS_AT }]);
  });

  it('is renewed', () => {
    const snapshot = send(renewing(), events.renewed());
    expect(stateString(snapshot)).toBe('renewed');
    expect(isFinal(snapshot)).toBe(true);
    expect(isCurrentAward(snapshot)).toBe(false);
    expect(snapshot.context).toMatchObject({ renewedAt: EARLY, renewedByAwardId: 'award-2' });
    expect(pendingAwardTimers(snapshot)).toEqual([]);
  });

  it('goes back to renewal due when the renewal fails, and expires at the expiry date again', () => {
    const snapshot = send(renewing(), events.renewalFailed());
    expect(stateString(snapshot)).toBe('renewalDue');
    expect(snapshot.context.renewal).toBeNull();
    expect(pendingAwardTimers(snapshot)).toEqual([{ eventType: 'EXPIRE', dueAt: EXPIRES_AT }]);
    expect(stateString(send(snapshot, events.expire(BEFORE_GRACE_ENDS)))).toBe('expired');
  });

  it('expires at the expiry date, not before', () => {
    expect(expectRefused(start(), events.expire(EARLY))).toEqual([
      'The award does not expire until 1 September 2029',
    ]);
    expect(stateString(send(start(), events.expire()))).toBe('expired');
    const expired = send(renewalDue(), events.expire());
    expect(stateString(expired)).toBe('expired');
    expect(expired.context.expiredAt).toBe(EXPIRES_AT);
    expect(isCurrentAward(expired)).toBe(false);
  });

  it('stays current while renewing until the grace period ends', () => {
    expect(expectRefused(renewing(), events.expire(BEFORE_GRACE_ENDS))).toEqual([
      'The award is being renewed and stays current until 28 February 2030',
    ]);
    expect(stateString(send(renewing(), events.expire(GRACE_ENDS_AT)))).toBe('expired');
  });

  it('is revoked from any current state, with a reason', () => {
    for (const build of [start, renewalDue, renewing]) {
      const snapshot = send(build(), events.revoke());
      expect(stateString(snapshot)).toBe('revoked');
      expect(snapshot.context.revocation).toEqual({
        reason: 'The school closed its sanctuary work',
        at: EARLY,
        by: 'admin-1',
      });
    }
    expect(expectRefused(start(), events.revoke(''))).toEqual([
      'Please give a reason for revoking the award',
    ]);
    expect(
      awardBlockers.REVOKE(start().context, { type: 'REVOKE', facts: { ...system(EARLY), preview: true } }),
    ).toEqual([]);
  });

  it('names who may send each event', () => {
    expect(Object.keys(awardEventRoles).sort()).toEqual([...AWARD_EVENT_TYPES].sort());
    expect(awardEventRoles.REVOKE).toEqual(['admin']);
    expect(awardEventRoles.EXPIRE).toEqual(['system']);
  });
});

const LATE = '2031-01-01T00:00:00.000Z';

/** Valid events for any state, timers firing late enough to be allowed. */
function candidateEvents(): AwardEvent[] {
  return [
    events.renewalDue(),
    events.renewalStarted(),
    events.renewed(),
    events.renewalFailed(),
    events.expire(LATE),
    events.revoke(),
  ];
}

const paths = getShortestPaths(awardMachine, {
  input: { expiresAt: EXPIRES_AT, renewalNoticeDays: 90, graceDays: 180 },
  events: candidateEvents,
  serializeState: (snapshot) => JSON.stringify([stateString(snapshot), snapshot.context.renewal !== null]),
});

describe('award machine (model-based)', () => {
  it('reaches every state, final ones included', () => {
    const leafStates = getStateNodes(awardMachine.root)
      .filter((node) => node.type === 'atomic' || node.type === 'final')
      .map((node) => node.path.join('.'));
    const reached = new Set(paths.map((path) => stateString(path.state)));
    expect([...reached].sort()).toEqual([...leafStates].sort());
  });

  it('handles or refuses every event type in every reachable state, and round-trips through JSON', () => {
    for (const { state } of paths) {
      const accepted = acceptedAwardEventTypes(state);
      const revived = reviveAwardSnapshot(JSON.stringify(persistAwardSnapshot(state)));
      expect(stateString(revived)).toBe(stateString(state));
      expect(revived.context).toEqual(state.context);
      for (const event of [...candidateEvents(), events.expire(EARLY), events.renewalDue(EARLY)]) {
        const next = send(state, event);
        const allowed = state.can(event);
        expect(revived.can(event)).toBe(allowed);
        if (!accepted.includes(event.type)) expect(allowed).toBe(false);
        if (allowed) expect(next).not.toBe(state);
        else expect(next).toBe(state);
        expect(stateString(send(revived, event))).toBe(stateString(next));
      }
    }
  });
});

describe('award persistence', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/award-v1-renewing.json', import.meta.url), 'utf8'),
  );

  it('revives an award stored by version 1 while renewing, and advances it', () => {
    expect(fixture.machineVersion).toBe(AWARD_MACHINE_VERSION);
    const snapshot = reviveAwardSnapshot(fixture.snapshot);
    expect(stateString(snapshot)).toBe('renewing');
    expect(isCurrentAward(snapshot)).toBe(true);
    expect(pendingAwardTimers(snapshot)).toEqual([
      { eventType: 'EXPIRE', dueAt: '2027-02-28T00:00:00.000Z' },
    ]);
    // The expiry-date timer that fires during the renewal is refused; the grace timer is not.
    expect(expectRefused(snapshot, events.expire('2026-09-01T00:00:00.000Z'))).toHaveLength(1);
    expect(stateString(send(snapshot, events.expire('2027-02-28T00:00:00.000Z')))).toBe('expired');
    expect(stateString(send(snapshot, events.renewed('2026-10-01T00:00:00.000Z')))).toBe('renewed');
  });
});
