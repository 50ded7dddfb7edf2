/**
 * The award workflow (SPEC §4): an award is current for three years, is renewed through a renewal
 * application, and expires (after a grace period while a renewal is under appraisal) or is revoked.
 *
 * Pure like the application machine: the time arrives as `event.facts.now`; the server's durable
 * timers send RENEWAL_DUE and EXPIRE at the instants `awardTimerDueAt` gives, and the guards refuse a
 * timer that fires too early (e.g. a stale one).
 */

import type { SnapshotFrom } from 'xstate';
import { assertEvent, assign, setup } from 'xstate';
import type {
  BaseFacts,
  BlockerCheck,
  EventRole,
  PersistedSnapshot,
  PreviewEvent,
  ReasonRecord,
  TimerDue,
} from './application.ts';
import {
  acceptedEventTypes,
  instant,
  payloadOf,
  persistSnapshot,
  readableDate,
  statusOf,
} from './application.ts';

/** Bump when a change makes older persisted snapshots unsafe to revive as they are. */
export const AWARD_MACHINE_VERSION = 1;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface AwardInput {
  /** ISO instant at which the award ends unless renewed. */
  expiresAt: string;
  renewalNoticeDays: number;
  graceDays: number;
}

export interface RenewalInProgress {
  startedAt: string;
  /** The renewal application, when the server passes it in the facts. */
  applicationId: string | null;
}

export interface AwardContext extends AwardInput {
  renewalDueAt: string | null;
  /** Set while a renewal application is under appraisal: the award then stays current until the grace ends. */
  renewal: RenewalInProgress | null;
  renewedAt: string | null;
  /** The award that replaced this one, when the server passes it in the facts. */
  renewedByAwardId: string | null;
  expiredAt: string | null;
  revocation: ReasonRecord | null;
}

export type RenewalDueEvent = { type: 'RENEWAL_DUE'; facts: BaseFacts };
export type RenewalStartedEvent = {
  type: 'RENEWAL_STARTED';
  facts: BaseFacts & { renewalApplicationId?: string };
};
export type RenewedEvent = { type: 'RENEWED'; facts: BaseFacts & { newAwardId?: string } };
export type RenewalFailedEvent = { type: 'RENEWAL_FAILED'; facts: BaseFacts };
export type ExpireEvent = { type: 'EXPIRE'; facts: BaseFacts };
export type RevokeEvent = { type: 'REVOKE'; facts: BaseFacts; reason: string };

export type AwardEvent =
  | RenewalDueEvent
  | RenewalStartedEvent
  | RenewedEvent
  | RenewalFailedEvent
  | ExpireEvent
  | RevokeEvent;

export type AwardEventType = AwardEvent['type'];

type AwardEventOfType<T extends AwardEventType> = Extract<AwardEvent, { type: T }>;

export type AwardStatus = 'active' | 'renewalDue' | 'renewing' | 'renewed' | 'expired' | 'revoked';

export const AWARD_EVENT_TYPES = [
  'RENEWAL_DUE',
  'RENEWAL_STARTED',
  'RENEWED',
  'RENEWAL_FAILED',
  'EXPIRE',
  'REVOKE',
] as const satisfies readonly AwardEventType[];

export const AWARD_FINAL_STATES = ['renewed', 'expired', 'revoked'] as const;

/** Renewal events come from the renewal application's workflow, timers from the job runner. */
export const awardEventRoles: Record<AwardEventType, readonly EventRole[]> = {
  RENEWAL_DUE: ['system'],
  RENEWAL_STARTED: ['system'],
  RENEWED: ['system'],
  RENEWAL_FAILED: ['system'],
  EXPIRE: ['system'],
  REVOKE: ['admin'],
};

function shiftDays(iso: string, days: number): string {
  return new Date(instant(iso) + days * DAY_MS).toISOString();
}

/**
 * When a timer event becomes due. EXPIRE depends on whether a renewal is under way: at expiry
 * normally, at expiry + grace while renewing.
 */
export function awardTimerDueAt(context: AwardContext, eventType: 'RENEWAL_DUE' | 'EXPIRE'): string {
  if (eventType === 'RENEWAL_DUE') return shiftDays(context.expiresAt, -context.renewalNoticeDays);
  return context.renewal ? shiftDays(context.expiresAt, context.graceDays) : context.expiresAt;
}

// ---------------------------------------------------------------------------------------------------
// Guards: the reasons each event would be refused

const noBlockers = (): string[] => [];

const renewalDueBlockers: BlockerCheck<AwardContext, RenewalDueEvent> = (context, { facts }) => {
  const dueAt = awardTimerDueAt(context, 'RENEWAL_DUE');
  return instant(facts.now) < instant(dueAt) ? [`Renewal is not due until ${readableDate(dueAt)}`] : [];
};

const expireBlockers: BlockerCheck<AwardContext, ExpireEvent> = (context, { facts }) => {
  const dueAt = awardTimerDueAt(context, 'EXPIRE');
  if (instant(facts.now) >= instant(dueAt)) return [];
  return context.renewal
    ? [`The award is being renewed and stays current until ${readableDate(dueAt)}`]
    : [`The award does not expire until ${readableDate(dueAt)}`];
};

const revokeBlockers: BlockerCheck<AwardContext, RevokeEvent> = (_context, event) => {
  const payload = payloadOf(event);
  if (!payload) return [];
  return typeof payload.reason === 'string' && payload.reason.trim() !== ''
    ? []
    : ['Please give a reason for revoking the award'];
};

export const awardBlockers: { [T in AwardEventType]: BlockerCheck<AwardContext, AwardEventOfType<T>> } = {
  RENEWAL_DUE: renewalDueBlockers,
  RENEWAL_STARTED: noBlockers,
  RENEWED: noBlockers,
  RENEWAL_FAILED: noBlockers,
  EXPIRE: expireBlockers,
  REVOKE: revokeBlockers,
};

/** The blockers of any award event (full or preview); an unknown type is blocked. */
export function awardEventBlockers(
  context: AwardContext,
  event: AwardEvent | PreviewEvent<AwardEvent>,
): string[] {
  const check = awardBlockers[event.type] as BlockerCheck<AwardContext, AwardEvent> | undefined;
  return check ? check(context, event) : [`${event.type} is not an award event`];
}

// ---------------------------------------------------------------------------------------------------
// The machine

const revoke = {
  REVOKE: { guard: 'noBlockers', target: '#award.revoked', actions: 'recordRevocation' },
} as const;
const expire = {
  EXPIRE: { guard: 'noBlockers', target: '#award.expired', actions: 'recordExpiry' },
} as const;
const startRenewal = {
  RENEWAL_STARTED: { target: '#award.renewing', actions: 'recordRenewalStarted' },
} as const;

export const awardMachine = setup({
  types: {
    context: {} as AwardContext,
    events: {} as AwardEvent,
    input: {} as AwardInput,
  },
  guards: {
    noBlockers: ({ context, event }) => awardEventBlockers(context, event).length === 0,
  },
  actions: {
    recordRenewalDue: assign(({ event }) => ({ renewalDueAt: event.facts.now })),
    recordRenewalStarted: assign(({ event }) => {
      assertEvent(event, 'RENEWAL_STARTED');
      return {
        renewal: { startedAt: event.facts.now, applicationId: event.facts.renewalApplicationId ?? null },
      };
    }),
    recordRenewed: assign(({ event }) => {
      assertEvent(event, 'RENEWED');
      return { renewedAt: event.facts.now, renewedByAwardId: event.facts.newAwardId ?? null };
    }),
    // The renewal ended without an award: the grace no longer applies, expiry is at expiresAt again.
    clearRenewal: assign({ renewal: null }),
    recordExpiry: assign(({ event }) => ({ expiredAt: event.facts.now })),
    recordRevocation: assign(({ event }) => {
      assertEvent(event, 'REVOKE');
      return { revocation: { reason: event.reason, at: event.facts.now, by: event.facts.actorId } };
    }),
  },
}).createMachine({
  id: 'award',
  initial: 'active',
  // Without input only in xstate's inert actor of each transition() (see the application machine).
  context: ({ input }) => ({
    expiresAt: input?.expiresAt ?? '',
    renewalNoticeDays: input?.renewalNoticeDays ?? 0,
    graceDays: input?.graceDays ?? 0,
    renewalDueAt: null,
    renewal: null,
    renewedAt: null,
    renewedByAwardId: null,
    expiredAt: null,
    revocation: null,
  }),
  states: {
    active: {
      on: {
        RENEWAL_DUE: { guard: 'noBlockers', target: 'renewalDue', actions: 'recordRenewalDue' },
        ...startRenewal,
        ...expire,
        ...revoke,
      },
    },
    renewalDue: {
      on: { ...startRenewal, ...expire, ...revoke },
    },
    renewing: {
      on: {
        RENEWED: { target: 'renewed', actions: 'recordRenewed' },
        RENEWAL_FAILED: { target: 'renewalDue', actions: 'clearRenewal' },
        ...expire,
        ...revoke,
      },
    },
    renewed: { type: 'final' },
    expired: { type: 'final' },
    revoked: { type: 'final' },
  },
});

export type AwardSnapshot = SnapshotFrom<typeof awardMachine>;

export function persistAwardSnapshot(snapshot: AwardSnapshot): PersistedSnapshot<AwardContext> {
  return persistSnapshot(snapshot);
}

/** Turns stored JSON back into a snapshot that `transition` and `can` accept. */
export function reviveAwardSnapshot(json: unknown): AwardSnapshot {
  const persisted = (typeof json === 'string' ? JSON.parse(json) : json) as PersistedSnapshot<AwardContext>;
  return awardMachine.resolveState({
    value: persisted.value as AwardSnapshot['value'],
    context: persisted.context,
  });
}

export function awardStatusOf(snapshot: AwardSnapshot): AwardStatus {
  return statusOf(snapshot) as AwardStatus;
}

export function acceptedAwardEventTypes(snapshot: AwardSnapshot): AwardEventType[] {
  const accepted = acceptedEventTypes(snapshot);
  return AWARD_EVENT_TYPES.filter((type) => accepted.includes(type));
}

/** The states of an award whose holder is on the public register (SPEC §4). */
export const CURRENT_AWARD_STATES = ['active', 'renewalDue', 'renewing'] as const;

export function isCurrentAwardState(state: string): boolean {
  return (CURRENT_AWARD_STATES as readonly string[]).includes(state);
}

/** Current award holders are listed on the public register (SPEC §4). */
export function isCurrentAward(snapshot: AwardSnapshot): boolean {
  return isCurrentAwardState(statusOf(snapshot));
}

/** The timers that should be pending in this state; re-enqueue after each transition (keyed by type). */
export function pendingAwardTimers(snapshot: AwardSnapshot): TimerDue<'RENEWAL_DUE' | 'EXPIRE'>[] {
  const status = awardStatusOf(snapshot);
  const timers: TimerDue<'RENEWAL_DUE' | 'EXPIRE'>[] = [];
  if (status === 'active')
    timers.push({ eventType: 'RENEWAL_DUE', dueAt: awardTimerDueAt(snapshot.context, 'RENEWAL_DUE') });
  if (isCurrentAward(snapshot))
    timers.push({ eventType: 'EXPIRE', dueAt: awardTimerDueAt(snapshot.context, 'EXPIRE') });
  return timers;
}
