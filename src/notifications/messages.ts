import type { Locale } from '../db/schema.ts';

/**
 * The readable e-mail (text and HTML) for each notified event and for the reminder digest, in English
 * and Welsh (SPEC §9: e-mails go out in the recipient's language). Only what every recipient of that
 * audience may see goes in: applicants get the consensus feedback and the decision, never individual
 * reviews, conflicts or appraisers' profiles (SPEC §3). Each message ends with a link to the page it is
 * about.
 *
 * Both languages are one typed table each (`Words`): a template missing from either does not compile.
 * The Welsh was written carefully but not by a translator; have it reviewed before production.
 */

export type Audience = 'applicants' | 'leads' | 'panel' | 'subject';

export type MessageContext = {
  entity: 'application' | 'award';
  entityId: string;
  organisationName: string;
  type: string;
  to: string;
  /** The event's payload as sent (reason, dueBy, at …). */
  payload: Record<string, unknown>;
  /**
   * The few facts of the new state the templates read: `reached` (the state), the review round, an
   * award's expiry. Kept narrow: the context travels through the outbox (src/jobs/effects.ts).
   */
  context: { reached: string; round?: number; expiresAt?: string };
  /** The name of the person who sent the event (null for the system's timers). */
  actorName: string | null;
};

export type Message = {
  subject: string;
  paragraphs: string[];
  /** The page the message is about, shown last. */
  link?: { url: string; label: string };
};

type Render = (c: MessageContext, audience: Audience) => Message | null;

/** Who is told of each application event. Events not listed notify nobody. */
export const APPLICATION_AUDIENCES = {
  SUBMIT: ['leads', 'applicants'],
  RETURN: ['applicants'],
  ACCEPT: ['applicants'],
  ASSIGN_APPRAISER: ['subject'],
  UNASSIGN_APPRAISER: ['subject'],
  START_REVIEW: ['panel'],
  SUBMIT_REVIEW: ['leads'],
  // For the leads alone (admins on the national route): who declared it is never told to the school
  // or to the rest of the panel (SPEC §3). The reason stays in the history, behind sign-in, not in e-mail.
  DECLARE_CONFLICT: ['leads'],
  SEND_FEEDBACK: ['applicants'],
  RESPOND: ['leads', 'panel'],
  SCHEDULE_MEETING: ['applicants', 'panel'],
  DECIDE: ['applicants', 'leads', 'panel'],
  RESUBMIT: ['leads', 'panel'],
  EXTEND_DEADLINE: ['applicants'],
  LAPSE: ['applicants', 'leads'],
  WITHDRAW: ['applicants', 'leads', 'panel'],
} as const satisfies Record<string, readonly Audience[]>;

/** Who is told of each award event. */
export const AWARD_AUDIENCES = {
  RENEWAL_DUE: ['applicants', 'leads'],
  RENEWAL_STARTED: ['leads'],
  RENEWAL_FAILED: ['applicants', 'leads'],
  EXPIRE: ['applicants', 'leads'],
  REVOKE: ['applicants', 'leads'],
} as const satisfies Record<string, readonly Audience[]>;

type ApplicationEvent = keyof typeof APPLICATION_AUDIENCES;
type AwardEvent = keyof typeof AWARD_AUDIENCES;

/** What a reminder is about, for its line in the digest (src/jobs/reminders.ts). */
export type ReminderFacts =
  | { kind: 'review-outstanding'; organisationName: string; round: number; openedAt: Date }
  | { kind: 'submission-not-accepted'; organisationName: string; submittedAt: Date }
  | { kind: 'further-evidence-due'; organisationName: string; dueBy: Date }
  | { kind: 'renewal-due'; organisationName: string; expiresAt: Date };

type Words = {
  greeting: (name: string) => string;
  footer: string;
  links: { application: string; award: string; home: string };
  application: Record<ApplicationEvent, Render>;
  award: Record<AwardEvent, Render>;
  digest: { subject: (count: number) => string; intro: string };
  reminder: { [K in ReminderFacts['kind']]: (f: Extract<ReminderFacts, { kind: K }>) => string };
};

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : '');
const isDate = (v: unknown): v is string | Date =>
  (typeof v === 'string' && !Number.isNaN(Date.parse(v))) ||
  (v instanceof Date && !Number.isNaN(v.getTime()));
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Dates in UTC, as the workflow keeps them; built once, not per call (seen in the event profile). */
function dates(tag: string, unknownDay: string, unknownTime: string) {
  const DAY = new Intl.DateTimeFormat(tag, {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  const WHEN = new Intl.DateTimeFormat(tag, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
  return {
    day: (v: unknown) => (isDate(v) ? DAY.format(new Date(v)) : unknownDay),
    when: (v: unknown) => (isDate(v) ? `${WHEN.format(new Date(v))} UTC` : unknownTime),
  };
}

type Feedback = Record<string, { judgement?: string; feedback?: string }>;
const feedbackOf = (c: MessageContext) => (c.payload.criteria ?? {}) as Feedback;
const questionsOf = (c: MessageContext) =>
  Array.isArray(c.payload.questions) ? (c.payload.questions as string[]) : [];
const requestsOf = (c: MessageContext) =>
  Array.isArray(c.payload.requests) ? (c.payload.requests as { criterion: string; request: string }[]) : [];

// ————————————————————————————————————————— English —————————————————————————————————————————

const en = dates('en-GB', 'an unknown date', 'a time to be confirmed');
const enApp = (c: MessageContext) => `the Sanctuary Award application of ${c.organisationName}`;
const enAward = (c: MessageContext) => `the Sanctuary Award of ${c.organisationName}`;
const enReason = (c: MessageContext) => (text(c.payload.reason) ? `Reason: ${text(c.payload.reason)}` : '');

const EN: Words = {
  greeting: (name) => `Dear ${name},`,
  footer: 'You receive this because of your role in the Sanctuary Awards. City of Sanctuary UK.',
  links: {
    application: 'See the application:',
    award: 'See the award:',
    home: 'Go to Sanctuary Awards:',
  },
  application: {
    SUBMIT: (c, a) =>
      a === 'leads'
        ? {
            subject: `New application from ${c.organisationName}`,
            paragraphs: [
              `${c.organisationName} has submitted its Sanctuary Award application. Please accept it for appraisal or return it with a reason.`,
            ],
          }
        : {
            subject: 'Your Sanctuary Award application was submitted',
            paragraphs: [`Thank you: ${enApp(c)} has been submitted. Your local lead will be in touch.`],
          },
    RETURN: (c) => ({
      subject: 'Your application was returned to draft',
      paragraphs: [
        `${cap(enApp(c))} was returned to draft so that you can change it and submit it again.`,
        enReason(c),
      ],
    }),
    ACCEPT: (c) => ({
      subject: 'Your application was accepted for appraisal',
      paragraphs: [`${cap(enApp(c))} was accepted. A panel is being formed to appraise it.`],
    }),
    ASSIGN_APPRAISER: (c) => ({
      subject: `You were assigned to the panel for ${c.organisationName}`,
      paragraphs: [
        `You are now on the appraisal panel for ${enApp(c)}. You will be told when reviews open.`,
        'If you belong to this organisation or have a conflict of interest, please declare it.',
      ],
    }),
    UNASSIGN_APPRAISER: (c) => ({
      subject: `You were removed from the panel for ${c.organisationName}`,
      paragraphs: [`You are no longer on the appraisal panel for ${enApp(c)}.`],
    }),
    START_REVIEW: (c) => ({
      subject: `Reviews are open: ${c.organisationName}`,
      paragraphs: [
        `The panel for ${enApp(c)} may now review it (round ${c.context.round ?? 1}).`,
        'Please review each criterion on your own and submit your review.',
      ],
    }),
    // Only the last review, which brings the panel to consensus, is worth a mail.
    SUBMIT_REVIEW: (c) =>
      c.context.reached === 'appraisal.consensus'
        ? {
            subject: `All reviews are in: ${c.organisationName}`,
            paragraphs: [
              `Every panel member has reviewed ${enApp(c)}. The panel can now agree its consensus and send feedback.`,
            ],
          }
        : null,
    DECLARE_CONFLICT: (c) => ({
      subject: `A panel member declared a conflict: ${c.organisationName}`,
      paragraphs: [
        `${c.actorName ?? 'A panel member'} declared a conflict of interest with ${c.organisationName} and left the panel. The panel may need another member.`,
        'The reason is in the application’s history.',
      ],
    }),
    SEND_FEEDBACK: (c) => {
      const questions = questionsOf(c);
      return {
        subject: 'Feedback from your appraisal panel',
        paragraphs: [
          `The panel has sent its feedback on ${enApp(c)}.`,
          ...Object.entries(feedbackOf(c)).map(
            ([code, f]) =>
              `${code}: ${f.judgement === 'met' ? 'met' : 'further evidence needed'}${text(f.feedback) ? ` — ${text(f.feedback)}` : ''}`,
          ),
          ...(questions.length
            ? ['Please answer the panel’s questions:', ...questions.map((q, i) => `${i + 1}. ${q}`)]
            : []),
        ],
      };
    },
    RESPOND: (c) => ({
      subject: `${c.organisationName} answered the panel`,
      paragraphs: [
        `${c.organisationName} has answered the panel’s questions. The next step is the meeting or visit.`,
      ],
    }),
    SCHEDULE_MEETING: (c) => ({
      subject: `Appraisal meeting: ${en.when(c.payload.at)}`,
      paragraphs: [
        `The appraisal meeting for ${enApp(c)} is ${c.payload.mode === 'online' ? 'online' : 'in person'} on ${en.when(c.payload.at)}.`,
        ...(text(c.payload.location) ? [`Where: ${text(c.payload.location)}`] : []),
      ],
    }),
    DECIDE: (c) => {
      const outcome = c.payload.outcome;
      const headline =
        outcome === 'award'
          ? `Congratulations: ${c.organisationName} has been given the Sanctuary Award. It is listed on the public register.`
          : outcome === 'further_evidence'
            ? `The panel asks ${c.organisationName} for further evidence by ${en.day(c.payload.dueBy)}.`
            : `The panel decided not to give ${c.organisationName} the award this time.`;
      return {
        subject: `Decision on ${enApp(c)}: ${outcome === 'award' ? 'awarded' : outcome === 'further_evidence' ? 'further evidence requested' : 'not awarded'}`,
        paragraphs: [
          headline,
          ...(text(c.payload.rationale) ? [`The panel’s reasons: ${text(c.payload.rationale)}`] : []),
          ...requestsOf(c).map((r) => `${r.criterion}: ${r.request}`),
        ],
      };
    },
    RESUBMIT: (c) => ({
      subject: `Further evidence received: ${c.organisationName}`,
      paragraphs: [
        `${c.organisationName} has sent the further evidence. Review round ${c.context.round ?? ''} is open.`,
      ],
    }),
    EXTEND_DEADLINE: (c) => ({
      subject: 'More time for your further evidence',
      paragraphs: [`The due date for further evidence on ${enApp(c)} is now ${en.day(c.payload.dueBy)}.`],
    }),
    LAPSE: (c) => ({
      subject: `Application lapsed: ${c.organisationName}`,
      paragraphs: [
        `The due date for further evidence passed, so ${enApp(c)} has lapsed. The organisation may start a new application.`,
      ],
    }),
    WITHDRAW: (c) => ({
      subject: `Application withdrawn: ${c.organisationName}`,
      paragraphs: [`${cap(enApp(c))} was withdrawn.`, enReason(c)],
    }),
  },
  award: {
    RENEWAL_DUE: (c) => ({
      subject: `Renewal due: ${c.organisationName}’s Sanctuary Award expires on ${en.day(c.context.expiresAt)}`,
      paragraphs: [
        `${cap(enAward(c))} expires on ${en.day(c.context.expiresAt)}.`,
        'Start a renewal application (it is pre-filled from your last one) to keep the award current.',
      ],
    }),
    RENEWAL_STARTED: (c) => ({
      subject: `Renewal started: ${c.organisationName}`,
      paragraphs: [
        `${c.organisationName} has opened a renewal application. The award stays current while it is appraised, for at most the grace period past ${en.day(c.context.expiresAt)}.`,
      ],
    }),
    RENEWAL_FAILED: (c) => ({
      subject: `Renewal did not succeed: ${c.organisationName}`,
      paragraphs: [
        `The renewal application ended without an award. ${cap(enAward(c))} expires on ${en.day(c.context.expiresAt)} unless a new renewal succeeds.`,
      ],
    }),
    EXPIRE: (c) => ({
      subject: `Award expired: ${c.organisationName}`,
      paragraphs: [
        `${cap(enAward(c))} has expired and is no longer on the public register. The organisation may apply again.`,
      ],
    }),
    REVOKE: (c) => ({
      subject: `Award revoked: ${c.organisationName}`,
      paragraphs: [`${cap(enAward(c))} was revoked and is no longer on the public register.`, enReason(c)],
    }),
  },
  digest: {
    subject: (n) => (n === 1 ? 'Sanctuary Awards: 1 reminder' : `Sanctuary Awards: ${n} reminders`),
    intro: 'Things waiting for you in the Sanctuary Awards:',
  },
  reminder: {
    'review-outstanding': (f) =>
      `Your review of ${f.organisationName}'s application (round ${f.round}) is outstanding: reviews opened on ${en.day(f.openedAt)}.`,
    'submission-not-accepted': (f) =>
      `${f.organisationName}'s application, submitted on ${en.day(f.submittedAt)}, has not been accepted or returned yet.`,
    'further-evidence-due': (f) =>
      `The further evidence for ${f.organisationName}'s application is due by ${en.day(f.dueBy)}.`,
    'renewal-due': (f) =>
      `${f.organisationName}'s Sanctuary Award expires on ${en.day(f.expiresAt)} and no renewal has been started.`,
  },
};

// ————————————————————————————————————————— Cymraeg —————————————————————————————————————————
// Organisation names are proper nouns and are not mutated; the sentences are built so that none
// needs to be. "Gwobr Noddfa" is the award, "Gwobrau Noddfa" the service (as in the page catalogues).

const cy = dates('cy-GB', 'dyddiad anhysbys', "amser i'w gadarnhau");
const cyApp = (c: MessageContext) => `cais ${c.organisationName} am Wobr Noddfa`;
/** The same after "ar", which softens "cais" to "gais". */
const cyOnApp = (c: MessageContext) => `ar gais ${c.organisationName} am Wobr Noddfa`;
const cyAward = (c: MessageContext) => `Gwobr Noddfa ${c.organisationName}`;
const cyReason = (c: MessageContext) => (text(c.payload.reason) ? `Rheswm: ${text(c.payload.reason)}` : '');

const CY: Words = {
  greeting: (name) => `Annwyl ${name},`,
  footer: 'Rydych yn cael yr e-bost hwn oherwydd eich rôl yng Ngwobrau Noddfa. City of Sanctuary UK.',
  links: {
    application: 'Gweld y cais:',
    award: 'Gweld y wobr:',
    home: 'Mynd i Wobrau Noddfa:',
  },
  application: {
    SUBMIT: (c, a) =>
      a === 'leads'
        ? {
            subject: `Cais newydd gan ${c.organisationName}`,
            paragraphs: [
              `Mae ${c.organisationName} wedi cyflwyno cais am Wobr Noddfa. Derbyniwch y cais i'w arfarnu, neu dychwelwch ef gyda rheswm.`,
            ],
          }
        : {
            subject: "Mae eich cais am Wobr Noddfa wedi'i gyflwyno",
            paragraphs: [
              `Diolch: mae ${cyApp(c)} wedi'i gyflwyno. Bydd eich arweinydd lleol yn cysylltu â chi.`,
            ],
          },
    RETURN: (c) => ({
      subject: "Mae eich cais wedi'i ddychwelyd i'r cam drafft",
      paragraphs: [
        `Mae ${cyApp(c)} wedi'i ddychwelyd i'r cam drafft er mwyn i chi allu ei newid a'i gyflwyno eto.`,
        cyReason(c),
      ],
    }),
    ACCEPT: (c) => ({
      subject: "Mae eich cais wedi'i dderbyn i'w arfarnu",
      paragraphs: [`Mae ${cyApp(c)} wedi'i dderbyn. Mae panel yn cael ei ffurfio i'w arfarnu.`],
    }),
    ASSIGN_APPRAISER: (c) => ({
      subject: `Rydych wedi cael eich neilltuo i'r panel ar gyfer ${c.organisationName}`,
      paragraphs: [
        `Rydych bellach ar y panel sy'n arfarnu ${cyApp(c)}. Cewch wybod pan fydd yr adolygiadau'n agor.`,
        "Os ydych yn perthyn i'r sefydliad hwn neu os oes gennych wrthdaro buddiannau, datganwch hynny.",
      ],
    }),
    UNASSIGN_APPRAISER: (c) => ({
      subject: `Rydych wedi cael eich tynnu oddi ar y panel ar gyfer ${c.organisationName}`,
      paragraphs: [`Nid ydych ar y panel sy'n arfarnu ${cyApp(c)} mwyach.`],
    }),
    START_REVIEW: (c) => ({
      subject: `Mae'r adolygiadau ar agor: ${c.organisationName}`,
      paragraphs: [
        `Gall y panel adolygu ${cyApp(c)} nawr (rownd ${c.context.round ?? 1}).`,
        'Adolygwch bob maen prawf ar eich pen eich hun, a chyflwynwch eich adolygiad.',
      ],
    }),
    SUBMIT_REVIEW: (c) =>
      c.context.reached === 'appraisal.consensus'
        ? {
            subject: `Mae pob adolygiad wedi dod i law: ${c.organisationName}`,
            paragraphs: [
              `Mae pob aelod o'r panel wedi adolygu ${cyApp(c)}. Gall y panel gytuno ar ei gonsensws ac anfon adborth nawr.`,
            ],
          }
        : null,
    DECLARE_CONFLICT: (c) => ({
      subject: `Mae aelod o'r panel wedi datgan gwrthdaro buddiannau: ${c.organisationName}`,
      paragraphs: [
        `Mae ${c.actorName ?? "aelod o'r panel"} wedi datgan gwrthdaro buddiannau â ${c.organisationName} ac wedi gadael y panel. Efallai y bydd angen aelod arall ar y panel.`,
        "Mae'r rheswm yn hanes y cais.",
      ],
    }),
    SEND_FEEDBACK: (c) => {
      const questions = questionsOf(c);
      return {
        subject: 'Adborth gan eich panel arfarnu',
        paragraphs: [
          `Mae'r panel wedi anfon ei adborth ${cyOnApp(c)}.`,
          ...Object.entries(feedbackOf(c)).map(
            ([code, f]) =>
              `${code}: ${f.judgement === 'met' ? "wedi'i fodloni" : 'angen rhagor o dystiolaeth'}${text(f.feedback) ? ` — ${text(f.feedback)}` : ''}`,
          ),
          ...(questions.length
            ? ["Atebwch gwestiynau'r panel:", ...questions.map((q, i) => `${i + 1}. ${q}`)]
            : []),
        ],
      };
    },
    RESPOND: (c) => ({
      subject: `Mae ${c.organisationName} wedi ateb y panel`,
      paragraphs: [
        `Mae ${c.organisationName} wedi ateb cwestiynau'r panel. Y cam nesaf yw'r cyfarfod neu'r ymweliad.`,
      ],
    }),
    SCHEDULE_MEETING: (c) => ({
      subject: `Cyfarfod arfarnu: ${cy.when(c.payload.at)}`,
      paragraphs: [
        `Bydd y cyfarfod i arfarnu ${cyApp(c)} ${c.payload.mode === 'online' ? 'ar-lein' : 'wyneb yn wyneb'}, ar ${cy.when(c.payload.at)}.`,
        ...(text(c.payload.location) ? [`Lleoliad: ${text(c.payload.location)}`] : []),
      ],
    }),
    DECIDE: (c) => {
      const outcome = c.payload.outcome;
      const headline =
        outcome === 'award'
          ? `Llongyfarchiadau: mae ${c.organisationName} wedi cael Gwobr Noddfa. Mae wedi'i rhestru ar y gofrestr gyhoeddus.`
          : outcome === 'further_evidence'
            ? `Mae'r panel yn gofyn i ${c.organisationName} am ragor o dystiolaeth erbyn ${cy.day(c.payload.dueBy)}.`
            : `Penderfynodd y panel beidio â rhoi'r wobr i ${c.organisationName} y tro hwn.`;
      return {
        subject: `Penderfyniad ${cyOnApp(c)}: ${outcome === 'award' ? 'dyfarnwyd y wobr' : outcome === 'further_evidence' ? 'gofynnwyd am ragor o dystiolaeth' : 'ni ddyfarnwyd y wobr'}`,
        paragraphs: [
          headline,
          ...(text(c.payload.rationale) ? [`Rhesymau'r panel: ${text(c.payload.rationale)}`] : []),
          ...requestsOf(c).map((r) => `${r.criterion}: ${r.request}`),
        ],
      };
    },
    RESUBMIT: (c) => ({
      subject: `Rhagor o dystiolaeth wedi dod i law: ${c.organisationName}`,
      paragraphs: [
        `Mae ${c.organisationName} wedi anfon y dystiolaeth ychwanegol. Mae rownd adolygu ${c.context.round ?? ''} ar agor.`,
      ],
    }),
    EXTEND_DEADLINE: (c) => ({
      subject: 'Mwy o amser ar gyfer eich tystiolaeth ychwanegol',
      paragraphs: [
        `Y dyddiad cau ar gyfer tystiolaeth ychwanegol ${cyOnApp(c)} bellach yw ${cy.day(c.payload.dueBy)}.`,
      ],
    }),
    LAPSE: (c) => ({
      subject: `Cais wedi dod i ben: ${c.organisationName}`,
      paragraphs: [
        `Mae'r dyddiad cau ar gyfer tystiolaeth ychwanegol wedi mynd heibio, felly mae ${cyApp(c)} wedi dod i ben. Gall y sefydliad ddechrau cais newydd.`,
      ],
    }),
    WITHDRAW: (c) => ({
      subject: `Cais wedi'i dynnu'n ôl: ${c.organisationName}`,
      paragraphs: [`Mae ${cyApp(c)} wedi'i dynnu'n ôl.`, cyReason(c)],
    }),
  },
  award: {
    RENEWAL_DUE: (c) => ({
      subject: `Adnewyddu: mae Gwobr Noddfa ${c.organisationName} yn dod i ben ar ${cy.day(c.context.expiresAt)}`,
      paragraphs: [
        `Mae ${cyAward(c)} yn dod i ben ar ${cy.day(c.context.expiresAt)}.`,
        "Dechreuwch gais i'w hadnewyddu (mae wedi'i lenwi ymlaen llaw o'ch cais diwethaf) er mwyn i'r wobr barhau'n gyfredol.",
      ],
    }),
    RENEWAL_STARTED: (c) => ({
      subject: `Cais i adnewyddu wedi dechrau: ${c.organisationName}`,
      paragraphs: [
        `Mae ${c.organisationName} wedi agor cais i adnewyddu ei Wobr Noddfa. Mae'r wobr yn parhau'n gyfredol tra bydd y cais yn cael ei arfarnu, ond dim hwy na'r cyfnod gras ar ôl ${cy.day(c.context.expiresAt)}.`,
      ],
    }),
    RENEWAL_FAILED: (c) => ({
      subject: `Ni lwyddodd y cais i adnewyddu: ${c.organisationName}`,
      paragraphs: [
        `Daeth y cais i adnewyddu i ben heb wobr. Bydd ${cyAward(c)} yn dod i ben ar ${cy.day(c.context.expiresAt)} oni bai bod cais newydd i adnewyddu yn llwyddo.`,
      ],
    }),
    EXPIRE: (c) => ({
      subject: `Gwobr wedi dod i ben: ${c.organisationName}`,
      paragraphs: [
        `Mae ${cyAward(c)} wedi dod i ben, ac nid yw ar y gofrestr gyhoeddus mwyach. Gall y sefydliad wneud cais eto.`,
      ],
    }),
    REVOKE: (c) => ({
      subject: `Gwobr wedi'i dirymu: ${c.organisationName}`,
      paragraphs: [`Mae ${cyAward(c)} wedi'i dirymu, ac nid yw ar y gofrestr gyhoeddus mwyach.`, cyReason(c)],
    }),
  },
  digest: {
    // With a numeral in figures, Welsh keeps the noun singular whatever the number.
    subject: (n) => `Gwobrau Noddfa: ${n} nodyn atgoffa`,
    intro: "Pethau sy'n aros amdanoch yng Ngwobrau Noddfa:",
  },
  reminder: {
    'review-outstanding': (f) =>
      `Nid ydych wedi cyflwyno eich adolygiad o gais ${f.organisationName} (rownd ${f.round}) eto: agorodd yr adolygiadau ar ${cy.day(f.openedAt)}.`,
    'submission-not-accepted': (f) =>
      `Nid yw cais ${f.organisationName}, a gyflwynwyd ar ${cy.day(f.submittedAt)}, wedi'i dderbyn na'i ddychwelyd eto.`,
    'further-evidence-due': (f) =>
      `Mae'r dystiolaeth ychwanegol ar gyfer cais ${f.organisationName} i'w chyflwyno erbyn ${cy.day(f.dueBy)}.`,
    'renewal-due': (f) =>
      `Mae Gwobr Noddfa ${f.organisationName} yn dod i ben ar ${cy.day(f.expiresAt)}, ac nid oes cais i'w hadnewyddu wedi dechrau.`,
  },
};

const WORDS: Record<Locale, Words> = { en: EN, cy: CY };
const words = (locale: Locale | null | undefined) => WORDS[locale ?? 'en'] ?? EN;

/** The audiences told of an event, or none when it notifies nobody. */
export function audiencesOf(entity: 'application' | 'award', type: string): readonly Audience[] {
  const table: Record<string, readonly Audience[]> =
    entity === 'application' ? APPLICATION_AUDIENCES : AWARD_AUDIENCES;
  return Object.hasOwn(table, type) ? table[type] : [];
}

/**
 * An event's message for one audience in one language, linking to `url` (the page it is about); null
 * when that audience is not told of it (SUBMIT_REVIEW before the last review).
 */
export function renderEventMessage(
  locale: Locale | null,
  c: MessageContext,
  audience: Audience,
  url: string,
): Message | null {
  const w = words(locale);
  const templates: Record<string, Render> = c.entity === 'application' ? w.application : w.award;
  const render = Object.hasOwn(templates, c.type) ? templates[c.type] : undefined;
  const message = render?.(c, audience) ?? null;
  return message && { ...message, link: { url, label: w.links[c.entity] } };
}

/** A reminder's line in the digest, in the person's language. */
export function reminderLine(locale: Locale | null, facts: ReminderFacts): string {
  return (words(locale).reminder[facts.kind] as (f: ReminderFacts) => string)(facts);
}

/** The day's digest of someone's reminders, linking to the home page `url`. */
export function digestMessage(locale: Locale | null, lines: string[], url: string): Message {
  const w = words(locale);
  return {
    subject: w.digest.subject(lines.length),
    paragraphs: [w.digest.intro, ...lines.map((line) => `• ${line}`)],
    link: { url, label: w.links.home },
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The text and HTML bodies of a message in the recipient's language, with a greeting and a footer. */
export function renderBodies(
  locale: Locale | null,
  name: string,
  message: Message,
): { text: string; html: string } {
  const w = words(locale);
  const paragraphs = message.paragraphs.filter(Boolean);
  const link = message.link;
  const textBody = [
    w.greeting(name),
    ...paragraphs,
    ...(link ? [`${link.label} ${link.url}`] : []),
    '—',
    w.footer,
  ].join('\n\n');
  const html = [
    `<!doctype html><html lang="${locale ?? 'en'}"><body style="font-family:sans-serif;line-height:1.5;max-width:40em">`,
    `<p>${escapeHtml(w.greeting(name))}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(link
      ? [`<p>${escapeHtml(link.label)} <a href="${escapeHtml(link.url)}">${escapeHtml(link.url)}</a></p>`]
      : []),
    `<hr><p style="color:#666;font-size:90%">${escapeHtml(w.footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { text: textBody, html };
}
