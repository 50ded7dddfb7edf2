import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { initialTransition, transition } from 'xstate';
import {
  APPLICATION_FINAL_STATES,
  APPLICATION_MACHINE_VERSION,
  type ApplicationSnapshot,
  AWARD_MACHINE_VERSION,
  type AwardSnapshot,
  applicationEventBlockers,
  applicationMachine,
  applicationStatusOf,
  awardEventBlockers,
  awardMachine,
  awardStatusOf,
  awardTimerDueAt,
  isCurrentAward,
  persistApplicationSnapshot,
  persistAwardSnapshot,
  startReviewWarnings,
  stateString,
} from '../../workflows/index.ts';
import type { Db, DbOrTrx } from '../db/index.ts';
import { DAY_MS } from '../domain/iso.ts';

/**
 * `npm run cli -- seed-demo --organisations N --applications M`: a realistic national network for
 * demos and benchmarks (SPEC §1 scale: 10,000 organisations, 100,000 applications, ~1,000,000 events).
 *
 * Every application and award state is produced by the workflow machines of `workflows/` — the same
 * pure `initialTransition` / `transition` functions and blocker checks the runner uses — replaying a
 * plausible history event by event with server-side facts (pledge signed, every criterion answered
 * and evidenced, panel profiles …). Each step's from/to state, payload, persisted snapshot and version
 * go into the history exactly as the runner writes them. Only the writing is different: rows are
 * bulk-inserted in batches (jsonb_to_recordset), not one transaction per event.
 *
 * Not seeded: answers' text and evidence files (the bulk history says they were there through the
 * SUBMIT facts; the evidence byte store stays empty).
 */

export type SeedOptions = {
  organisations: number;
  applications: number;
  seed?: number;
  now?: Date;
  log?: (line: string) => void;
};
export type SeedStats = {
  areas: number;
  users: number;
  organisations: number;
  applications: number;
  applicationEvents: number;
  awards: number;
  awardEvents: number;
  seconds: number;
};

const FINAL = new Set<string>(APPLICATION_FINAL_STATES);

/** mulberry32: a small deterministic PRNG, so a seed gives the same network every time. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const PLACES = [
  'Coventry',
  'Sheffield',
  'Bristol',
  'Leeds',
  'Manchester',
  'Liverpool',
  'Birmingham',
  'Leicester',
  'Nottingham',
  'Newcastle',
  'Sunderland',
  'Bradford',
  'Hull',
  'Derby',
  'Stoke',
  'Wolverhampton',
  'Plymouth',
  'Exeter',
  'Norwich',
  'Ipswich',
  'Oxford',
  'Cambridge',
  'Reading',
  'Brighton',
  'Southampton',
  'Portsmouth',
  'Swindon',
  'Gloucester',
  'Bath',
  'York',
  'Lancaster',
  'Preston',
  'Bolton',
  'Oldham',
  'Rochdale',
  'Wigan',
  'Salford',
  'Stockport',
  'Huddersfield',
  'Wakefield',
  'Doncaster',
  'Rotherham',
  'Barnsley',
  'Lincoln',
  'Peterborough',
  'Luton',
  'Milton Keynes',
  'Northampton',
  'Bedford',
  'Watford',
  'Croydon',
  'Lewisham',
  'Hackney',
  'Islington',
  'Camden',
  'Southwark',
  'Lambeth',
  'Newham',
  'Tower Hamlets',
  'Haringey',
];
const WELSH = ['Cardiff', 'Swansea', 'Newport', 'Wrexham', 'Bangor', 'Aberystwyth'];
const SCOTTISH = ['Glasgow', 'Edinburgh', 'Aberdeen', 'Dundee', 'Stirling', 'Inverness'];
const NI = ['Belfast', 'Derry'];
const SAINTS = [
  'St Mary’s',
  'St John’s',
  'Holy Trinity',
  'St Peter’s',
  'Christ Church',
  'All Saints',
  'St Anne’s',
  'Our Lady’s',
];
const WORDS = [
  'Hillfields',
  'Riverside',
  'Parkside',
  'Oakwood',
  'Meadow',
  'Greenfield',
  'Ashgrove',
  'Elmwood',
  'Brookside',
  'Westfield',
  'Northgate',
  'Southfields',
  'Highbury',
  'Castle',
  'Victoria',
  'Albert',
  'Queensway',
  'Moorside',
  'Hollybank',
  'Foxhill',
];
/** Streams and how their organisations are called; schools are most of the network. */
const STREAM_MIX: [slug: string, weight: number, names: string[]][] = [
  [
    'schools',
    55,
    ['Primary School', 'Academy', 'High School', 'Infant School', 'Junior School', 'Nursery School'],
  ],
  ['colleges', 5, ['College', 'Sixth Form College']],
  ['universities', 3, ['University']],
  ['libraries', 7, ['Library', 'Community Library']],
  ['theatres', 3, ['Theatre', 'Playhouse']],
  ['museums', 3, ['Museum', 'Gallery']],
  ['arts', 3, ['Arts Centre', 'Arts Collective']],
  ['health', 5, ['Medical Practice', 'Health Centre']],
  ['maternity', 2, ['Maternity Unit']],
  ['faith', 6, ['Church', 'Mosque', 'Gurdwara', 'Synagogue']],
  ['councils', 2, ['Council']],
  ['shops', 3, ['Bookshop', 'Café', 'Market']],
  ['gardens', 3, ['Community Garden', 'Allotments']],
];

type StreamInfo = {
  id: string;
  slug: string;
  criteriaSetId: string;
  codes: string[];
  minPanel: number;
  years: number;
  notice: number;
  grace: number;
};
type AreaInfo = {
  id: string;
  name: string;
  nation: string;
  leadId: string | null;
  appraisers: { id: string; lived: boolean; local: boolean; cos: boolean }[];
};
type OrgInfo = {
  id: string;
  name: string;
  stream: StreamInfo;
  area: AreaInfo;
  applicantId: string;
  pledged: boolean;
};

type EventRow = {
  application_id: string;
  type: string;
  actor_id: string | null;
  from_state: string | null;
  to_state: string | null;
  payload: unknown;
  snapshot: unknown;
  version: number | null;
  at: string;
};
type AwardEventRow = Omit<EventRow, 'application_id' | 'snapshot'> & { award_id: string };

class Batch {
  applications: Record<string, unknown>[] = [];
  events: EventRow[] = [];
  awards: Record<string, unknown>[] = [];
  awardEvents: AwardEventRow[] = [];
  /** Awards touched after their row was built (renewed, expired …): rewritten before insert. */
  awardState = new Map<string, AwardSim>();
}

/** An award, moved by the award machine exactly as the runner and the timers would. */
class AwardSim {
  id = randomUUID();
  snapshot: AwardSnapshot;
  version = 1;
  readonly batch: Batch;
  readonly org: OrgInfo;
  readonly applicationId: string;
  readonly awardedAt: number;
  updatedAt: number;
  constructor(batch: Batch, org: OrgInfo, applicationId: string, awardedAt: number) {
    this.batch = batch;
    this.org = org;
    this.applicationId = applicationId;
    this.awardedAt = awardedAt;
    this.updatedAt = awardedAt;
    const expires = new Date(awardedAt);
    expires.setUTCFullYear(expires.getUTCFullYear() + org.stream.years);
    [this.snapshot] = initialTransition(awardMachine, {
      expiresAt: expires.toISOString(),
      renewalNoticeDays: org.stream.notice,
      graceDays: org.stream.grace,
    });
    batch.awardEvents.push({
      award_id: this.id,
      type: 'AWARDED',
      actor_id: null,
      from_state: '',
      to_state: stateString(this.snapshot),
      payload: { applicationId },
      version: 1,
      at: new Date(awardedAt).toISOString(),
    });
    batch.awardState.set(this.id, this);
  }
  get current() {
    return isCurrentAward(this.snapshot);
  }
  send(type: string, at: number, facts: Record<string, unknown> = {}) {
    const event = { type, facts: { actorId: 'system', now: new Date(at).toISOString(), ...facts } };
    const blockers = awardEventBlockers(this.snapshot.context, event as never);
    if (blockers.length) throw new Error(`seed-demo: award ${type} refused: ${blockers.join(' ')}`);
    const [next] = transition(awardMachine, this.snapshot, event as never);
    if (next === this.snapshot)
      throw new Error(`seed-demo: award ${type} does not apply in ${stateString(this.snapshot)}`);
    this.version++;
    this.batch.awardEvents.push({
      award_id: this.id,
      type,
      actor_id: null,
      from_state: stateString(this.snapshot),
      to_state: stateString(next),
      payload: {},
      version: this.version,
      at: new Date(at).toISOString(),
    });
    this.snapshot = next;
    this.updatedAt = at;
  }
  /** The durable timers that would have fired by `until`, in order. */
  advance(until: number) {
    for (;;) {
      const status = awardStatusOf(this.snapshot);
      if (status === 'active') {
        const due = Date.parse(awardTimerDueAt(this.snapshot.context, 'RENEWAL_DUE'));
        if (due <= until) {
          this.send('RENEWAL_DUE', Math.max(due, this.updatedAt));
          continue;
        }
      }
      if (this.current) {
        const due = Date.parse(awardTimerDueAt(this.snapshot.context, 'EXPIRE'));
        if (due <= until) {
          this.send('EXPIRE', Math.max(due, this.updatedAt));
          continue;
        }
      }
      return;
    }
  }
  row() {
    const persisted = persistAwardSnapshot(this.snapshot);
    return {
      id: this.id,
      organisation_id: this.org.id,
      stream_id: this.org.stream.id,
      application_id: this.applicationId,
      state: awardStatusOf(this.snapshot),
      snapshot: persisted,
      machine_version: AWARD_MACHINE_VERSION,
      version: this.version,
      awarded_at: new Date(this.awardedAt).toISOString(),
      expires_at: this.snapshot.context.expiresAt,
      created_at: new Date(this.awardedAt).toISOString(),
      updated_at: new Date(this.updatedAt).toISOString(),
    };
  }
}

/** An application replayed through the application machine, event by event. */
class ApplicationSim {
  id = randomUUID();
  snapshot: ApplicationSnapshot;
  version = 1;
  t: number;
  /** This application's history, added to the batch once the play is kept. */
  events: EventRow[] = [];
  readonly org: OrgInfo;
  readonly kind: 'initial' | 'renewal';
  readonly previousAwardId: string | null;
  readonly createdAt: number;
  constructor(org: OrgInfo, kind: 'initial' | 'renewal', previousAwardId: string | null, createdAt: number) {
    this.org = org;
    this.kind = kind;
    this.previousAwardId = previousAwardId;
    this.createdAt = createdAt;
    this.t = createdAt;
    [this.snapshot] = initialTransition(applicationMachine, {
      criteriaCodes: org.stream.codes,
      minPanelSize: org.stream.minPanel,
    });
    this.events.push({
      application_id: this.id,
      type: 'CREATED',
      actor_id: org.applicantId,
      from_state: null,
      to_state: stateString(this.snapshot),
      payload: {
        kind,
        criteriaSetId: org.stream.criteriaSetId,
        ...(previousAwardId ? { previousAwardId } : {}),
      },
      snapshot: persistApplicationSnapshot(this.snapshot),
      version: 1,
      at: new Date(createdAt).toISOString(),
    });
  }
  get state() {
    return stateString(this.snapshot);
  }
  /** One event through the machine: blockers checked, transition applied, history row written. */
  send(
    type: string,
    actorId: string | null,
    after: number,
    payload: Record<string, unknown> = {},
    facts: Record<string, unknown> = {},
  ) {
    this.t += after;
    const event = {
      ...payload,
      type,
      facts: { actorId: actorId ?? 'system', now: new Date(this.t).toISOString(), ...facts },
    };
    const blockers = applicationEventBlockers(this.snapshot.context, event as never);
    if (blockers.length)
      throw new Error(`seed-demo: ${type} refused in ${this.state}: ${blockers.join(' ')}`);
    const [next] = transition(applicationMachine, this.snapshot, event as never);
    if (next === this.snapshot) throw new Error(`seed-demo: ${type} does not apply in ${this.state}`);
    const warnings =
      type === 'START_REVIEW' ? startReviewWarnings(this.snapshot.context, event as never) : [];
    this.version++;
    this.events.push({
      application_id: this.id,
      type,
      actor_id: actorId,
      from_state: this.state,
      to_state: stateString(next),
      payload: { ...payload, ...(warnings.length ? { warnings } : {}) },
      snapshot: persistApplicationSnapshot(next),
      version: this.version,
      at: new Date(this.t).toISOString(),
    });
    this.snapshot = next;
  }
  row() {
    return {
      id: this.id,
      organisation_id: this.org.id,
      stream_id: this.org.stream.id,
      criteria_set_id: this.org.stream.criteriaSetId,
      kind: this.kind,
      previous_award_id: this.previousAwardId,
      state: this.state,
      status: applicationStatusOf(this.snapshot),
      round: this.snapshot.context.round,
      snapshot: persistApplicationSnapshot(this.snapshot),
      machine_version: APPLICATION_MACHINE_VERSION,
      version: this.version,
      created_by: this.org.applicantId,
      created_at: new Date(this.createdAt).toISOString(),
      updated_at: new Date(this.t).toISOString(),
    };
  }
}

type Outcome = 'award' | 'award_after_further_evidence' | 'not_awarded' | 'withdrawn' | 'lapsed' | 'open';
const STOPS = [
  'draft',
  'submitted',
  'panelForming',
  'reviewing',
  'consensus',
  'awaitingResponse',
  'meeting',
  'furtherEvidenceRequested',
] as const;
type Stop = (typeof STOPS)[number];

/**
 * Plays one application: to a final outcome, or (open) up to `stop`. The lead of the area (or, on the
 * national route, the national coordinator) accepts, forms the panel and decides.
 */
function playApplication(app: ApplicationSim, rng: Rng, outcome: Outcome, stop: Stop, adminId: string) {
  const org = app.org;
  const manager = org.area.leadId ?? adminId;
  const codes = org.stream.codes;
  const days = (lo: number, hi: number) => rng.int(lo, hi) * DAY_MS + rng.int(0, 8 * 3600) * 1000;
  const withdrawAt: Stop | null =
    outcome === 'withdrawn'
      ? rng.pick([
          'draft',
          'draft',
          'submitted',
          'panelForming',
          'reviewing',
          'awaitingResponse',
          'meeting',
        ] as const)
      : null;
  const reached = (s: Stop) => (outcome === 'open' && stop === s) || withdrawAt === s;
  const finish = () => {
    if (withdrawAt)
      app.send('WITHDRAW', rng.chance(0.7) ? org.applicantId : manager, days(1, 30), {
        reason: 'The school will apply again next year',
      });
  };
  if (reached('draft')) return finish();
  app.send(
    'SUBMIT',
    org.applicantId,
    days(5, 45),
    {},
    { pledgeSigned: true, missingAnswers: [], missingEvidence: [], routeAvailable: true },
  );
  if (reached('submitted')) return finish();
  app.send('ACCEPT', manager, days(1, 20));
  const pool = org.area.appraisers;
  const lived = pool.filter((a) => a.lived);
  const panel = [rng.pick(lived)];
  while (panel.length < org.stream.minPanel) {
    const next = rng.pick(pool);
    if (!panel.includes(next)) panel.push(next);
  }
  const assigned =
    outcome === 'open' && stop === 'panelForming' ? rng.int(0, panel.length - 1) : panel.length;
  for (const member of panel.slice(0, assigned)) {
    app.send(
      'ASSIGN_APPRAISER',
      manager,
      days(0, 3),
      { userId: member.id },
      {
        isAppraiser: true,
        isOrganisationMember: false,
        hasConflict: false,
        appraiserWithinAssignerReach: true,
      },
    );
  }
  if (reached('panelForming')) return finish();
  const profiles = panel.map((m) => ({
    userId: m.id,
    livedExperience: m.lived,
    localGroup: m.local,
    cosStaff: m.cos,
  }));
  app.send('START_REVIEW', manager, days(0, 2), {}, { panelProfiles: profiles });
  const reviewRound = (judgement: (code: string) => 'met' | 'not_yet', count = panel.length) => {
    for (const member of panel.slice(0, count)) {
      app.send('SUBMIT_REVIEW', member.id, days(2, 20), {
        criteria: Object.fromEntries(
          codes.map((c) => [
            c,
            {
              judgement: judgement(c),
              comment: `${c}: ${judgement(c) === 'met' ? 'clearly shown' : 'not yet shown'}`,
            },
          ]),
        ),
        summary: 'Reviewed against every criterion',
      });
    }
  };
  const weak = rng.pick(codes);
  const furtherEvidence =
    outcome === 'award_after_further_evidence' ||
    outcome === 'lapsed' ||
    (outcome === 'open' && stop === 'furtherEvidenceRequested');
  const judge = (c: string) =>
    (furtherEvidence || outcome === 'not_awarded') && c === weak ? 'not_yet' : 'met';
  if (reached('reviewing')) {
    reviewRound(judge, rng.int(0, panel.length - 1));
    return finish();
  }
  reviewRound(judge);
  if (reached('consensus')) return finish();
  const finalCriteria = Object.fromEntries(
    codes.map((c) => [c, judge(c) === 'met' ? 'met' : 'further_evidence']),
  );
  const withMeeting = rng.chance(0.7) || stop === 'awaitingResponse' || stop === 'meeting';
  if (withMeeting) {
    app.send('SEND_FEEDBACK', manager, days(1, 10), {
      criteria: Object.fromEntries(
        codes.map((c) => [c, { judgement: finalCriteria[c], feedback: `Feedback on ${c}` }]),
      ),
      questions: ['How do people seeking sanctuary shape this work?'],
    });
    if (reached('awaitingResponse')) return finish();
    app.send('RESPOND', org.applicantId, days(3, 30), { answers: ['Through our welcome group'] });
    const meetingIn = days(7, 30);
    const at = new Date(app.t + meetingIn).toISOString();
    app.send('SCHEDULE_MEETING', manager, days(1, 5), { at, mode: 'online', location: null });
    if (reached('meeting')) return finish();
    app.t = Math.max(app.t, Date.parse(at));
    app.send('RECORD_MEETING', manager, days(0, 2), {
      heldAt: at,
      notes: 'A good meeting with staff and pupils',
    });
  }
  const rationale = 'The panel’s consensus after the meeting';
  if (outcome === 'award') {
    app.send('DECIDE', manager, days(1, 10), { outcome: 'award', rationale, criteria: finalCriteria });
    return;
  }
  if (outcome === 'not_awarded') {
    app.send('DECIDE', manager, days(1, 10), { outcome: 'not_awarded', rationale, criteria: finalCriteria });
    return;
  }
  const decidedAfter = days(1, 10);
  const dueBy = new Date(app.t + decidedAfter + days(45, 90)).toISOString();
  app.send('DECIDE', manager, decidedAfter, {
    outcome: 'further_evidence',
    rationale,
    criteria: finalCriteria,
    requests: [{ criterion: weak, request: `Show how ${weak} is met across the organisation` }],
    dueBy,
  });
  if (reached('furtherEvidenceRequested')) return finish();
  if (outcome === 'lapsed') {
    app.t = Date.parse(dueBy);
    app.send('LAPSE', null, rng.int(0, 3600) * 1000);
    return;
  }
  // award_after_further_evidence: new evidence, round 2 with the same panel, then the award.
  app.send('RESUBMIT', org.applicantId, days(10, 40), {}, { criteriaWithNewEvidence: [weak] });
  reviewRound(() => 'met');
  app.send('DECIDE', manager, days(1, 10), {
    outcome: 'award',
    rationale: 'All criteria met in round 2',
    criteria: Object.fromEntries(codes.map((c) => [c, 'met'])),
  });
}

function pickOutcome(rng: Rng): Outcome {
  const r = rng.next();
  if (r < 0.3) return 'award';
  if (r < 0.38) return 'award_after_further_evidence';
  if (r < 0.5) return 'not_awarded';
  if (r < 0.9) return 'withdrawn';
  return 'lapsed';
}

/**
 * An organisation's whole history, oldest first: applications one after another (never two open),
 * renewals started in the renewal window of a current award, awards moved by their timers up to now.
 * Played on a relative clock, then shifted so the last event lands shortly before `now`.
 */
function playOrganisation(batch: Batch, org: OrgInfo, count: number, rng: Rng, now: number, adminId: string) {
  if (count === 0) return;
  const plan = Array.from({ length: count }, (_, i) =>
    i === count - 1 && rng.chance(0.35) ? ('open' as const) : pickOutcome(rng),
  );
  // Estimate the span to start far enough back: ~120 days per application, 2.8 years per award.
  const span = plan.reduce(
    (s, o) => s + (o.startsWith('award') ? 1100 : o === 'open' ? 100 : 160) * DAY_MS,
    0,
  );
  let t = now - span * 1.2 - rng.int(10, 400) * DAY_MS;
  let award: AwardSim | null = null;
  for (const planned of plan) {
    if (t > now - 5 * DAY_MS) break; // caught up with today
    award?.advance(t);
    const renewal = award?.current ? award : null;
    // Play the planned course; one that would run past today is played again, stopping earlier
    // (the most recent applications are the open ones).
    let app: ApplicationSim | null = null;
    const tries: [Outcome, Stop][] = [
      [planned, planned === 'open' ? rng.pick(STOPS) : 'draft'],
      ...[...STOPS].reverse().map((s) => ['open', s] as [Outcome, Stop]),
    ];
    for (const [outcome, stop] of tries) {
      const candidate = new ApplicationSim(org, renewal ? 'renewal' : 'initial', renewal?.id ?? null, t);
      playApplication(candidate, rng, outcome, stop, adminId);
      if (candidate.t <= now) {
        app = candidate;
        break;
      }
    }
    if (!app) throw new Error('seed-demo: no course of an application fits before now');
    if (renewal) renewal.send('RENEWAL_STARTED', t, { renewalApplicationId: app.id });
    batch.events.push(...app.events);
    const status = applicationStatusOf(app.snapshot);
    renewal?.advance(app.t);
    const stillRenewing = renewal && awardStatusOf(renewal.snapshot) === 'renewing';
    if (status === 'awarded') {
      const next = new AwardSim(batch, org, app.id, app.t);
      if (renewal && stillRenewing) renewal.send('RENEWED', app.t, { newAwardId: next.id });
      award = next;
      // The next application is the renewal, opened in the renewal window.
      t = Date.parse(next.snapshot.context.expiresAt) - rng.int(20, 90) * DAY_MS;
    } else {
      if (renewal && stillRenewing && FINAL.has(status)) renewal.send('RENEWAL_FAILED', app.t);
      t = app.t + rng.int(20, 150) * DAY_MS;
    }
    batch.applications.push(app.row());
    if (!FINAL.has(status)) break;
  }
  award?.advance(now);
}

async function insertJson(
  db: DbOrTrx,
  table: string,
  columns: [string, string][],
  rows: Record<string, unknown>[],
  chunk = 4000,
) {
  const spec = sql.raw(columns.map(([c, type]) => `${c} ${type}`).join(', '));
  const names = sql.raw(columns.map(([c]) => c).join(', '));
  for (let i = 0; i < rows.length; i += chunk) {
    const json = JSON.stringify(rows.slice(i, i + chunk));
    await sql`insert into ${sql.table(table)} (${names}) select ${names} from jsonb_to_recordset(${json}::jsonb) as x(${spec})`.execute(
      db,
    );
  }
}

async function flush(db: Db, batch: Batch) {
  await db.transaction().execute(async (trx) => {
    await insertJson(
      trx,
      'applications',
      [
        ['id', 'uuid'],
        ['organisation_id', 'uuid'],
        ['stream_id', 'uuid'],
        ['criteria_set_id', 'uuid'],
        ['kind', 'text'],
        ['previous_award_id', 'uuid'],
        ['state', 'text'],
        ['status', 'text'],
        ['round', 'int'],
        ['snapshot', 'jsonb'],
        ['machine_version', 'int'],
        ['version', 'int'],
        ['created_by', 'uuid'],
        ['created_at', 'timestamptz'],
        ['updated_at', 'timestamptz'],
      ],
      batch.applications,
    );
    await insertJson(
      trx,
      'application_events',
      [
        ['application_id', 'uuid'],
        ['type', 'text'],
        ['actor_id', 'uuid'],
        ['from_state', 'text'],
        ['to_state', 'text'],
        ['payload', 'jsonb'],
        ['snapshot', 'jsonb'],
        ['version', 'int'],
        ['at', 'timestamptz'],
      ],
      batch.events as unknown as Record<string, unknown>[],
      3000,
    );
    await insertJson(
      trx,
      'awards',
      [
        ['id', 'uuid'],
        ['organisation_id', 'uuid'],
        ['stream_id', 'uuid'],
        ['application_id', 'uuid'],
        ['state', 'text'],
        ['snapshot', 'jsonb'],
        ['machine_version', 'int'],
        ['version', 'int'],
        ['awarded_at', 'timestamptz'],
        ['expires_at', 'timestamptz'],
        ['created_at', 'timestamptz'],
        ['updated_at', 'timestamptz'],
      ],
      [...batch.awardState.values()].map((a) => a.row()),
    );
    await insertJson(
      trx,
      'award_events',
      [
        ['award_id', 'uuid'],
        ['type', 'text'],
        ['actor_id', 'uuid'],
        ['from_state', 'text'],
        ['to_state', 'text'],
        ['payload', 'jsonb'],
        ['version', 'int'],
        ['at', 'timestamptz'],
      ],
      batch.awardEvents as unknown as Record<string, unknown>[],
    );
  });
}

export async function seedDemo(db: Db, options: SeedOptions): Promise<SeedStats> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const rng = prng(options.seed ?? 20_240_601);
  const now = (options.now ?? new Date()).getTime();
  const run = randomUUID().slice(0, 8);

  const streamRows = await db
    .selectFrom('streams')
    .innerJoin('criteria_sets', 'criteria_sets.stream_id', 'streams.id')
    .select([
      'streams.id',
      'streams.slug',
      'streams.min_panel_size',
      'streams.award_years',
      'streams.renewal_notice_days',
      'streams.grace_days',
      'criteria_sets.id as criteria_set_id',
      'criteria_sets.version',
    ])
    .orderBy('criteria_sets.version', 'desc')
    .execute();
  const streams = new Map<string, StreamInfo>();
  for (const s of streamRows) {
    if (streams.has(s.slug)) continue;
    const codes = await db
      .selectFrom('criteria')
      .select('code')
      .where('criteria_set_id', '=', s.criteria_set_id)
      .orderBy('position')
      .execute();
    streams.set(s.slug, {
      id: s.id,
      slug: s.slug,
      criteriaSetId: s.criteria_set_id,
      codes: codes.map((c) => c.code),
      minPanel: s.min_panel_size,
      years: s.award_years,
      notice: s.renewal_notice_days,
      grace: s.grace_days,
    });
  }
  const mix = STREAM_MIX.filter(([slug]) => streams.has(slug));
  const totalWeight = mix.reduce((n, [, w]) => n + w, 0);
  const pickStream = () => {
    let r = rng.next() * totalWeight;
    for (const entry of mix) {
      r -= entry[1];
      if (r < 0) return entry;
    }
    return mix[0];
  };

  // People: a national coordinator, a lead and six appraisers per area, one applicant per organisation.
  const users: { id: string; email: string; name: string }[] = [];
  const grants: Record<string, unknown>[] = [];
  const profiles: Record<string, unknown>[] = [];
  const adminId = randomUUID();
  users.push({
    id: adminId,
    email: `national.${run}@demo.sanctuary.local`,
    name: 'National Coordinator (demo)',
  });
  grants.push({ user_id: adminId, role: 'admin', area_id: null, organisation_id: null });

  const areaCount = Math.max(4, Math.round(options.organisations / 70));
  const areas: AreaInfo[] = [];
  const areaRows: Record<string, unknown>[] = [];
  for (let i = 0; i < areaCount; i++) {
    const r = rng.next();
    const [nation, places] =
      r < 0.8
        ? ['england', PLACES]
        : r < 0.9
          ? ['scotland', SCOTTISH]
          : r < 0.98
            ? ['wales', WELSH]
            : ['northern_ireland', NI];
    const place = places[i % places.length];
    const name = `${place} ${Math.floor(i / places.length) + 1} (demo ${run})`;
    const id = randomUUID();
    // Wales and Scotland can run on the national route without a local lead.
    const hasLead = nation === 'england' || rng.chance(0.6);
    const leadId = hasLead ? randomUUID() : null;
    if (leadId) {
      users.push({
        id: leadId,
        email: `lead.${i}.${run}@demo.sanctuary.local`,
        name: `${place} Sanctuary Lead`,
      });
      grants.push({ user_id: leadId, role: 'lead', area_id: id, organisation_id: null });
    }
    const appraisers = Array.from({ length: 6 }, (_, k) => ({
      id: randomUUID(),
      lived: k < 2,
      local: k === 2 || k === 3,
      cos: k === 4,
    }));
    appraisers.forEach((a, k) => {
      users.push({
        id: a.id,
        email: `appraiser.${i}.${k}.${run}@demo.sanctuary.local`,
        name: `${place} Appraiser ${k + 1}`,
      });
      grants.push({ user_id: a.id, role: 'appraiser', area_id: null, organisation_id: null });
      profiles.push({
        user_id: a.id,
        lived_experience: a.lived,
        local_group: a.local,
        cos_staff: a.cos,
        home_area_id: id,
      });
    });
    areas.push({ id, name, nation, leadId, appraisers });
    areaRows.push({
      id,
      name,
      nation,
      region: null,
      local_authorities: [place],
      lead_organisation: hasLead ? `${place} City of Sanctuary` : null,
      active: true,
    });
  }

  const orgs: OrgInfo[] = [];
  const orgRows: Record<string, unknown>[] = [];
  const pledgeRows: Record<string, unknown>[] = [];
  for (let i = 0; i < options.organisations; i++) {
    const area = rng.pick(areas);
    const [slug, , kinds] = pickStream();
    const place = area.name.split(' ')[0];
    const prefix =
      slug === 'schools' && rng.chance(0.3) ? rng.pick(SAINTS) : rng.chance(0.5) ? rng.pick(WORDS) : place;
    const name = `${prefix} ${rng.pick(kinds)}${rng.chance(0.3) ? `, ${place}` : ''}`;
    const id = randomUUID();
    const applicantId = randomUUID();
    users.push({
      id: applicantId,
      email: `member.${i}.${run}@demo.sanctuary.local`,
      name: `Sanctuary lead at ${name}`,
    });
    grants.push({ user_id: applicantId, role: 'applicant', area_id: null, organisation_id: id });
    const org: OrgInfo = {
      id,
      name,
      stream: streams.get(slug) as StreamInfo,
      area,
      applicantId,
      pledged: rng.chance(0.9),
    };
    orgs.push(org);
    const createdAt = new Date(now - rng.int(400, 5000) * DAY_MS).toISOString();
    orgRows.push({
      id,
      name,
      stream_id: org.stream.id,
      area_id: area.id,
      phase: slug === 'schools' ? rng.pick(['primary', 'secondary', 'nursery', 'special']) : null,
      urn: null,
      website: null,
      created_at: createdAt,
      updated_at: createdAt,
    });
    if (org.pledged)
      pledgeRows.push({
        organisation_id: id,
        signatory_name: 'Demo Signatory',
        signatory_role: 'Head of organisation',
        signed_by: applicantId,
        signed_at: createdAt,
      });
  }

  await db.transaction().execute(async (trx) => {
    await insertJson(
      trx,
      'areas',
      [
        ['id', 'uuid'],
        ['name', 'text'],
        ['nation', 'text'],
        ['region', 'text'],
        ['local_authorities', 'jsonb'],
        ['lead_organisation', 'text'],
        ['active', 'boolean'],
      ],
      areaRows,
    );
    await insertJson(
      trx,
      'users',
      [
        ['id', 'uuid'],
        ['email', 'text'],
        ['name', 'text'],
      ],
      users,
    );
    await insertJson(
      trx,
      'organisations',
      [
        ['id', 'uuid'],
        ['name', 'text'],
        ['stream_id', 'uuid'],
        ['area_id', 'uuid'],
        ['phase', 'text'],
        ['urn', 'text'],
        ['website', 'text'],
        ['created_at', 'timestamptz'],
        ['updated_at', 'timestamptz'],
      ],
      orgRows,
    );
    await insertJson(
      trx,
      'grants',
      [
        ['user_id', 'uuid'],
        ['role', 'text'],
        ['area_id', 'uuid'],
        ['organisation_id', 'uuid'],
      ],
      grants,
    );
    await insertJson(
      trx,
      'appraiser_profiles',
      [
        ['user_id', 'uuid'],
        ['lived_experience', 'boolean'],
        ['local_group', 'boolean'],
        ['cos_staff', 'boolean'],
        ['home_area_id', 'uuid'],
      ],
      profiles,
    );
    await insertJson(
      trx,
      'pledges',
      [
        ['organisation_id', 'uuid'],
        ['signatory_name', 'text'],
        ['signatory_role', 'text'],
        ['signed_by', 'uuid'],
        ['signed_at', 'timestamptz'],
      ],
      pledgeRows,
    );
  });
  log(`seed-demo: ${areas.length} areas, ${users.length} users, ${orgs.length} organisations`);

  // Applications per organisation: some pledged organisations have none yet; the rest share the total.
  const counts = new Array<number>(orgs.length).fill(0);
  const applying = orgs.map((o, i) => (o.pledged && rng.chance(0.92) ? i : -1)).filter((i) => i >= 0);
  // At most 14 each (about 15 years of awards and attempts); the rest go to other organisations.
  const cap = Math.max(14, Math.ceil((options.applications / Math.max(1, applying.length)) * 1.3));
  for (let k = 0; k < options.applications && applying.length; ) {
    const i = applying[rng.int(0, applying.length - 1)];
    if (counts[i] < cap) {
      counts[i]++;
      k++;
    }
  }

  const stats = { applications: 0, applicationEvents: 0, awards: 0, awardEvents: 0 };
  let batch = new Batch();
  const flushBatch = async () => {
    await flush(db, batch);
    stats.applications += batch.applications.length;
    stats.applicationEvents += batch.events.length;
    stats.awards += batch.awardState.size;
    stats.awardEvents += batch.awardEvents.length;
    batch = new Batch();
  };
  for (let i = 0; i < orgs.length; i++) {
    playOrganisation(batch, orgs[i], counts[i], rng, now, adminId);
    if (batch.applications.length >= 2000) {
      await flushBatch();
      log(
        `seed-demo: ${stats.applications} applications, ${stats.applicationEvents} events (${Math.round((Date.now() - started) / 1000)} s)`,
      );
    }
  }
  await flushBatch();
  // Fresh statistics and visibility map, so the planner and index-only scans see the new rows at once.
  await sql`vacuum analyze`.execute(db);
  return {
    areas: areas.length,
    users: users.length,
    organisations: orgs.length,
    ...stats,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}
