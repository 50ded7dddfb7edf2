/**
 * The readable e-mail (text and HTML) for each notified event. Only what every recipient of that
 * audience may see goes in: applicants get the consensus feedback and the decision, never individual
 * reviews, conflicts or appraisers' profiles (SPEC §3).
 */

export type Audience = 'applicants' | 'leads' | 'panel' | 'subject';

export type MessageContext = {
  entity: 'application' | 'award';
  entityId: string;
  organisationName: string;
  type: string;
  to: string;
  /** The event's payload as sent (reason, dueBy, at …) and the new context's facts. */
  payload: Record<string, unknown>;
  context: Record<string, any>;
  /** The name of the person who sent the event (null for the system's timers). */
  actorName: string | null;
};

export type Message = { subject: string; paragraphs: string[] };

// Built once: toLocaleString with options builds a new formatter on every call (seen in the event profile).
const DAY = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const WHEN = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
const day = (iso: unknown) =>
  typeof iso === 'string' && !Number.isNaN(Date.parse(iso)) ? DAY.format(new Date(iso)) : 'an unknown date';
const when = (iso: unknown) =>
  typeof iso === 'string' && !Number.isNaN(Date.parse(iso))
    ? `${WHEN.format(new Date(iso))} UTC`
    : 'a time to be confirmed';
const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : '');

type Template = { audiences: Audience[]; render: (c: MessageContext, audience: Audience) => Message | null };

const app = (c: MessageContext) => `the Sanctuary Award application of ${c.organisationName}`;

/** Who is told of each application event, and what they read. Events not listed notify nobody. */
export const APPLICATION_MESSAGES: Record<string, Template> = {
  SUBMIT: {
    audiences: ['leads', 'applicants'],
    render: (c, a) =>
      a === 'leads'
        ? {
            subject: `New application from ${c.organisationName}`,
            paragraphs: [
              `${c.organisationName} has submitted its Sanctuary Award application. Please accept it for appraisal or return it with a reason.`,
            ],
          }
        : {
            subject: 'Your Sanctuary Award application was submitted',
            paragraphs: [`Thank you: ${app(c)} has been submitted. Your local lead will be in touch.`],
          },
  },
  RETURN: {
    audiences: ['applicants'],
    render: (c) => ({
      subject: 'Your application was returned to draft',
      paragraphs: [
        `${cap(app(c))} was returned to draft so that you can change it and submit it again.`,
        reasonLine(c),
      ],
    }),
  },
  ACCEPT: {
    audiences: ['applicants'],
    render: (c) => ({
      subject: 'Your application was accepted for appraisal',
      paragraphs: [`${cap(app(c))} was accepted. A panel is being formed to appraise it.`],
    }),
  },
  ASSIGN_APPRAISER: {
    audiences: ['subject'],
    render: (c) => ({
      subject: `You were assigned to the panel for ${c.organisationName}`,
      paragraphs: [
        `You are now on the appraisal panel for ${app(c)}. You will be told when reviews open.`,
        'If you belong to this organisation or have a conflict of interest, please declare it.',
      ],
    }),
  },
  UNASSIGN_APPRAISER: {
    audiences: ['subject'],
    render: (c) => ({
      subject: `You were removed from the panel for ${c.organisationName}`,
      paragraphs: [`You are no longer on the appraisal panel for ${app(c)}.`],
    }),
  },
  START_REVIEW: {
    audiences: ['panel'],
    render: (c) => ({
      subject: `Reviews are open: ${c.organisationName}`,
      paragraphs: [
        `The panel for ${app(c)} may now review it (round ${c.context.round ?? 1}).`,
        'Please review each criterion on your own and submit your review.',
      ],
    }),
  },
  SUBMIT_REVIEW: {
    audiences: ['leads'],
    // Only the last review, which brings the panel to consensus, is worth a mail.
    render: (c) =>
      c.context.reached === 'appraisal.consensus'
        ? {
            subject: `All reviews are in: ${c.organisationName}`,
            paragraphs: [
              `Every panel member has reviewed ${app(c)}. The panel can now agree its consensus and send feedback.`,
            ],
          }
        : null,
  },
  // For the leads alone (admins on the national route): who declared it is never told to the school
  // or to the rest of the panel (SPEC §3). The reason stays in the history, behind sign-in, not in e-mail.
  DECLARE_CONFLICT: {
    audiences: ['leads'],
    render: (c) => ({
      subject: `A panel member declared a conflict: ${c.organisationName}`,
      paragraphs: [
        `${c.actorName ?? 'A panel member'} declared a conflict of interest with ${c.organisationName} and left the panel. The panel may need another member.`,
        'The reason is in the application’s history.',
      ],
    }),
  },
  SEND_FEEDBACK: {
    audiences: ['applicants'],
    render: (c) => {
      const feedback = (c.payload.criteria ?? {}) as Record<
        string,
        { judgement?: string; feedback?: string }
      >;
      const questions = Array.isArray(c.payload.questions) ? (c.payload.questions as string[]) : [];
      return {
        subject: 'Feedback from your appraisal panel',
        paragraphs: [
          `The panel has sent its feedback on ${app(c)}.`,
          ...Object.entries(feedback).map(
            ([code, f]) =>
              `${code}: ${f.judgement === 'met' ? 'met' : 'further evidence needed'}${text(f.feedback) ? ` — ${text(f.feedback)}` : ''}`,
          ),
          ...(questions.length
            ? ['Please answer the panel’s questions:', ...questions.map((q, i) => `${i + 1}. ${q}`)]
            : []),
        ],
      };
    },
  },
  RESPOND: {
    audiences: ['leads', 'panel'],
    render: (c) => ({
      subject: `${c.organisationName} answered the panel`,
      paragraphs: [
        `${c.organisationName} has answered the panel’s questions. The next step is the meeting or visit.`,
      ],
    }),
  },
  SCHEDULE_MEETING: {
    audiences: ['applicants', 'panel'],
    render: (c) => ({
      subject: `Appraisal meeting: ${when(c.payload.at)}`,
      paragraphs: [
        `The appraisal meeting for ${app(c)} is ${c.payload.mode === 'online' ? 'online' : 'in person'} on ${when(c.payload.at)}.`,
        ...(text(c.payload.location) ? [`Where: ${text(c.payload.location)}`] : []),
      ],
    }),
  },
  DECIDE: {
    audiences: ['applicants', 'leads', 'panel'],
    render: (c) => {
      const outcome = c.payload.outcome;
      const requests = Array.isArray(c.payload.requests)
        ? (c.payload.requests as { criterion: string; request: string }[])
        : [];
      const headline =
        outcome === 'award'
          ? `Congratulations: ${c.organisationName} has been given the Sanctuary Award. It is listed on the public register.`
          : outcome === 'further_evidence'
            ? `The panel asks ${c.organisationName} for further evidence by ${day(c.payload.dueBy)}.`
            : `The panel decided not to give ${c.organisationName} the award this time.`;
      return {
        subject: `Decision on ${app(c)}: ${outcome === 'award' ? 'awarded' : outcome === 'further_evidence' ? 'further evidence requested' : 'not awarded'}`,
        paragraphs: [
          headline,
          ...(text(c.payload.rationale) ? [`The panel’s reasons: ${text(c.payload.rationale)}`] : []),
          ...requests.map((r) => `${r.criterion}: ${r.request}`),
        ],
      };
    },
  },
  RESUBMIT: {
    audiences: ['leads', 'panel'],
    render: (c) => ({
      subject: `Further evidence received: ${c.organisationName}`,
      paragraphs: [
        `${c.organisationName} has sent the further evidence. Review round ${c.context.round ?? ''} is open.`,
      ],
    }),
  },
  EXTEND_DEADLINE: {
    audiences: ['applicants'],
    render: (c) => ({
      subject: 'More time for your further evidence',
      paragraphs: [`The due date for further evidence on ${app(c)} is now ${day(c.payload.dueBy)}.`],
    }),
  },
  LAPSE: {
    audiences: ['applicants', 'leads'],
    render: (c) => ({
      subject: `Application lapsed: ${c.organisationName}`,
      paragraphs: [
        `The due date for further evidence passed, so ${app(c)} has lapsed. The organisation may start a new application.`,
      ],
    }),
  },
  WITHDRAW: {
    audiences: ['applicants', 'leads', 'panel'],
    render: (c) => ({
      subject: `Application withdrawn: ${c.organisationName}`,
      paragraphs: [`${cap(app(c))} was withdrawn.`, reasonLine(c)],
    }),
  },
};

const award = (c: MessageContext) => `the Sanctuary Award of ${c.organisationName}`;

export const AWARD_MESSAGES: Record<string, Template> = {
  RENEWAL_DUE: {
    audiences: ['applicants', 'leads'],
    render: (c) => ({
      subject: `Renewal due: ${c.organisationName}’s Sanctuary Award expires on ${day(c.context.expiresAt)}`,
      paragraphs: [
        `${cap(award(c))} expires on ${day(c.context.expiresAt)}.`,
        'Start a renewal application (it is pre-filled from your last one) to keep the award current.',
      ],
    }),
  },
  RENEWAL_STARTED: {
    audiences: ['leads'],
    render: (c) => ({
      subject: `Renewal started: ${c.organisationName}`,
      paragraphs: [
        `${c.organisationName} has opened a renewal application. The award stays current while it is appraised, for at most the grace period past ${day(c.context.expiresAt)}.`,
      ],
    }),
  },
  RENEWAL_FAILED: {
    audiences: ['applicants', 'leads'],
    render: (c) => ({
      subject: `Renewal did not succeed: ${c.organisationName}`,
      paragraphs: [
        `The renewal application ended without an award. ${cap(award(c))} expires on ${day(c.context.expiresAt)} unless a new renewal succeeds.`,
      ],
    }),
  },
  EXPIRE: {
    audiences: ['applicants', 'leads'],
    render: (c) => ({
      subject: `Award expired: ${c.organisationName}`,
      paragraphs: [
        `${cap(award(c))} has expired and is no longer on the public register. The organisation may apply again.`,
      ],
    }),
  },
  REVOKE: {
    audiences: ['applicants', 'leads'],
    render: (c) => ({
      subject: `Award revoked: ${c.organisationName}`,
      paragraphs: [`${cap(award(c))} was revoked and is no longer on the public register.`, reasonLine(c)],
    }),
  },
};

function cap(s: string) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function reasonLine(c: MessageContext) {
  return text(c.payload.reason) ? `Reason: ${text(c.payload.reason)}` : '';
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The text and HTML bodies of a message, with a greeting and a footer. */
export function renderBodies(name: string, message: Message): { text: string; html: string } {
  const paragraphs = message.paragraphs.filter(Boolean);
  const footer = 'You receive this because of your role in the Sanctuary Awards. City of Sanctuary UK.';
  const textBody = [`Dear ${name},`, ...paragraphs, '—', footer].join('\n\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5;max-width:40em">',
    `<p>Dear ${escapeHtml(name)},</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<hr><p style="color:#666;font-size:90%">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { text: textBody, html };
}
