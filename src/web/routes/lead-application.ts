import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApplicationContext, startReviewWarnings } from '../../../workflows/index.ts';
import { appraiserCandidates } from '../../applications/candidates.ts';
import type { ApplicationEventBody, ApplicationView } from '../../applications/schemas.ts';
import { getApplication, history, reviews, sendEvent } from '../../applications/service.ts';
import { getArea } from '../../areas/service.ts';
import type { Db } from '../../db/index.ts';
import { managesArea } from '../../domain/access.ts';
import { DomainError, notFound } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { listEvidence } from '../../evidence/service.ts';
import { getStream } from '../../streams/service.ts';
import { type Problem, summary, uuid } from '../forms.ts';
import { formatDate, type Translate, translator } from '../i18n.ts';
import {
  type Decision,
  decisionShown,
  fileType,
  formatSize,
  isoDateText,
  localised,
  type Meeting,
  meetingShown,
  statusText,
} from '../journey.ts';
import { type Pages, requirePerson } from '../pages.ts';

type Options = { db: Db; pages: Pages };

const TEXT_MAX = 20_000;
const SHORT_MAX = 5000;

type Values = Record<string, string>;

/** The form's fields as typed (the first value of a repeated name), without the CSRF token. */
function valuesOf(body: unknown): Values {
  const values: Values = {};
  for (const [name, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (name === '_csrf') continue;
    values[name] = String(Array.isArray(value) ? value[0] : (value ?? ''));
  }
  return values;
}

/** Minutes east of UTC that Europe/London is at this instant (0 in winter, 60 in summer). */
function londonOffsetMinutes(at: Date): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
      .formatToParts(at)
      .map((p) => [p.type, Number(p.value)]),
  );
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute);
  return Math.round((asUtc - at.getTime()) / 60_000);
}

/**
 * A day (and a time) typed in the GOV.UK date pattern, as the instant it names in the UK; null when it
 * names no real day or time.
 */
export function ukInstant(day: string, month: string, year: string, time = '12:00'): Date | null {
  const [d, m, y] = [day, month, year].map((v) => (/^\d{1,4}$/.test(v.trim()) ? Number(v) : Number.NaN));
  const clock = /^(\d{1,2})[:.](\d{2})$/.exec(time.trim());
  if (!clock || [d, m, y].some(Number.isNaN) || y < 2000 || y > 2200) return null;
  const [hour, minute] = [Number(clock[1]), Number(clock[2])];
  if (hour > 23 || minute > 59) return null;
  const naive = new Date(Date.UTC(y, m - 1, d, hour, minute));
  if (naive.getUTCDate() !== d || naive.getUTCMonth() !== m - 1) return null;
  return new Date(naive.getTime() - londonOffsetMinutes(naive) * 60_000);
}

/** The workflow's reasons (in English) this page knows, by the catalogue key that says them in either language. */
const REASONS: [RegExp, string][] = [
  [/lived experience/, 'lived'],
  [/local City of Sanctuary group/, 'localGroup'],
  [/already on the panel/, 'onPanel'],
  [/is not an appraiser/, 'notAppraiser'],
  [/belongs to another area/, 'otherArea'],
  [/belongs to the applying organisation/, 'member'],
  [/declared a conflict of interest/, 'conflict'],
  [/is not on the panel/, 'notOnPanel'],
  [/can only be recorded once it has been held/, 'notHeld'],
];

/**
 * A reason the workflow gives for refusing an event, or for what the panel still needs, in the reader's
 * language; a reason this page does not know is shown as the workflow wrote it.
 */
function reasonText(t: Translate, reason: string): string {
  const size = /^The panel needs at least .*?(\d+) members? \(it has (\d+)\)/.exec(reason);
  if (size) return t('leadApplication.reason.size', { count: Number(size[1]), has: Number(size[2]) });
  const notMet = /^Criterion (\S+) is not met, so the award cannot be made/.exec(reason);
  if (notMet) return t('leadApplication.reason.notMet', { code: notMet[1] });
  const unjudged = /^Criterion (\S+) has no judgement yet/.exec(reason);
  if (unjudged) return t('leadApplication.reason.unjudged', { code: unjudged[1] });
  const known = REASONS.find(([pattern]) => pattern.test(reason));
  return known ? t(`leadApplication.reason.${known[1]}`) : reason;
}

/** A date field group's values under `prefix` (prefix-day, prefix-month, prefix-year). */
const dateParts = (values: Values, prefix: string) =>
  [values[`${prefix}-day`] ?? '', values[`${prefix}-month`] ?? '', values[`${prefix}-year`] ?? ''] as const;

/** What one form of the page sends: the event, or the problems with what was typed. */
type Built = { event: ApplicationEventBody } | { problems: Problem[] };

/**
 * The local lead's page for one application (SPEC §9 "Local leads"): its summary, answers and evidence;
 * intake; panel forming with the appraisers' profiles and the guard's hints; the reviews side by side;
 * the feedback form pre-filled from them; meetings; the decision; deadlines; withdrawal; the history.
 * Every form sends one workflow event through the service the API calls, with the version the page
 * showed. Only the area's lead and admins see it: anyone else gets the page-not-found page.
 */
export async function leadApplicationRoutes(app: FastifyInstance, { db, pages }: Options) {
  const who = (request: FastifyRequest) => {
    const person = requirePerson(request);
    const locale = request.visitor?.locale ?? 'en';
    return { p: person.principal, locale, t: translator(locale) };
  };
  const applicationId = (request: FastifyRequest) => {
    const parsed = uuid.safeParse((request.params as { id?: string }).id);
    if (!parsed.success) throw notFound('application');
    return parsed.data;
  };

  /** The page's forms, by the action each posts to (a redirect's `done` names one). */
  const actions = new Set<string>();

  /** The application as the lead sees it; an applicant or an appraiser is not shown this page. */
  const leadView = async (p: Principal, id: string): Promise<ApplicationView> => {
    const view = await getApplication(db, p, id);
    if (!managesArea(p, view.areaId)) throw notFound('application');
    return view;
  };

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    view: ApplicationView,
    extra: { values?: Values; errors?: unknown[]; fieldErrors?: unknown; stale?: boolean } = {},
    status = 200,
  ) {
    const { p, locale, t } = who(request);
    const allowed = new Set(view.allowedEvents);
    const [area, stream, lines, reviewList, evidence, candidates] = await Promise.all([
      getArea(db, view.areaId),
      getStream(db, view.streamId),
      history(db, p, view.id, 200),
      reviews(db, p, view.id),
      listEvidence(db, p, view.id),
      allowed.has('ASSIGN_APPRAISER') ? appraiserCandidates(db, p, view.id) : [],
    ]);
    const date = (value: unknown, withTime = false) => isoDateText(locale, value, withTime);
    const decision = view.decision as Decision | null;
    const meeting = view.meeting as Meeting | null;
    const yesNo = (flag: boolean | undefined) => (flag ? t('leadApplication.yes') : t('leadApplication.no'));

    // The reviews of this round, one column per appraiser, with the panel's tally per criterion.
    const thisRound = reviewList.items
      .filter((r) => r.round === view.round)
      .sort(
        (a, b) =>
          a.appraiserName.localeCompare(b.appraiserName) || a.appraiserId.localeCompare(b.appraiserId),
      );
    const reviewRows = view.criteria.map((c) => {
      const judgements = thisRound.map((r) => r.criteria[c.code]);
      const met = judgements.filter((j) => j?.judgement === 'met').length;
      return {
        code: c.code,
        title: c.title,
        cells: judgements.map((j) => ({
          met: j?.judgement === 'met',
          judgement: j ? t(`leadApplication.reviews.${j.judgement}`) : '–',
          comment: j?.comment ?? '',
        })),
        tally: t('leadApplication.reviews.tally', { met, count: thisRound.length }),
        allMet: thisRound.length > 0 && met === thisRound.length,
        // Unsigned: the organisation reads the consensus, never who said what (SPEC §3).
        comments: [...new Set(judgements.map((j) => j?.comment.trim() ?? '').filter(Boolean))].join('\n'),
      };
    });

    // The feedback form starts from the reviews: met where every appraiser said so, their comments as text.
    const typed = extra.values ?? {};
    const prefilled: Values = {};
    if (allowed.has('SEND_FEEDBACK')) {
      for (const row of reviewRows) {
        prefilled[`judgement-${row.code}`] = row.allMet ? 'met' : 'further_evidence';
        prefilled[`feedback-${row.code}`] = row.comments;
      }
    }
    if (allowed.has('DECIDE') && view.feedback) {
      for (const [code, f] of Object.entries(view.feedback)) prefilled[`final-${code}`] = f.judgement;
    }
    if (meeting?.at && allowed.has('SCHEDULE_MEETING')) {
      const at = new Date(meeting.at);
      const [day, month, year, time] = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/London',
        hourCycle: 'h23',
        day: 'numeric',
        month: 'numeric',
        year: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
      })
        .format(at)
        .split(/[/, ]+/);
      Object.assign(prefilled, {
        'meeting-day': day,
        'meeting-month': month,
        'meeting-year': year,
        'meeting-time': time,
        mode: meeting.mode ?? '',
        location: meeting.location ?? '',
      });
    }

    const panelProfiles = view.panel.map((m) => ({
      userId: m.userId,
      livedExperience: Boolean(m.livedExperience),
      localGroup: Boolean(m.localGroup),
      cosStaff: Boolean(m.cosStaff),
    }));
    const panelHints = [
      ...(view.blockers.START_REVIEW ?? []),
      // The advice START_REVIEW gives when it goes ahead (a warning, not a block: SPEC §2).
      ...(view.state === 'appraisal.panelForming'
        ? startReviewWarnings(
            { panel: view.panel.map((m) => m.userId) } as ApplicationContext,
            {
              type: 'START_REVIEW',
              facts: { panelProfiles },
            } as never,
          )
        : []),
    ].map((reason) => reasonText(t, reason));

    const query = request.query as Record<string, string | undefined>;
    const titles = new Map(view.criteria.map((c) => [c.code, c.title]));
    return pages.send(
      request,
      reply,
      'lead/application',
      {
        title: view.organisationName,
        view,
        allowed: Object.fromEntries(view.allowedEvents.map((e) => [e, true])),
        done: query.done && actions.has(query.done) ? query.done : null,
        stale: extra.stale ?? false,
        errors: extra.errors ?? [],
        fieldErrors: extra.fieldErrors ?? {},
        values: { ...prefilled, ...typed },
        summaryRows: [
          {
            key: { text: t('leadApplication.summary.organisation') },
            value: { text: view.organisationName },
          },
          {
            key: { text: t('leadApplication.summary.stream') },
            value: { text: localised(locale, stream.name, stream.nameCy) },
          },
          { key: { text: t('leadApplication.summary.area') }, value: { text: area.name } },
          { key: { text: t('leadApplication.summary.kind') }, value: { text: t(`apply.kind.${view.kind}`) } },
          { key: { text: t('leadApplication.summary.round') }, value: { text: String(view.round) } },
          { key: { text: t('leadApplication.summary.state') }, value: { text: statusText(t, view.state) } },
          {
            key: { text: t('leadApplication.summary.submitted') },
            value: { text: date(view.submittedAt) ?? t('leadApplication.summary.notSubmitted') },
          },
          ...(meeting?.at
            ? [
                {
                  key: { text: t('leadApplication.summary.meeting') },
                  value: { text: date(meeting.at, true) },
                },
              ]
            : []),
          ...(decision
            ? [
                {
                  key: { text: t('leadApplication.summary.decision') },
                  value: { text: t(`progress.outcome.${decision.outcome}`) },
                },
              ]
            : []),
          ...(decision?.dueBy && view.status === 'furtherEvidenceRequested'
            ? [{ key: { text: t('leadApplication.summary.dueBy') }, value: { text: date(decision.dueBy) } }]
            : []),
        ],
        criteria: view.criteria.map((c) => ({
          code: c.code,
          title: c.title,
          process: t(`apply.process.${c.process}`),
          answer: view.answers[c.code] ?? '',
          files: evidence
            .filter((e) => e.criteria.includes(c.code))
            .map((e) => ({
              href: `/apply/${view.id}/evidence/${e.id}`,
              filename: e.filename,
              type: fileType(e.filename),
              size: formatSize(locale, e.size),
              removed: e.fileRemoved !== null,
            })),
        })),
        panel: view.panel.map((m) => ({
          ...m,
          lived: yesNo(m.livedExperience),
          local: yesNo(m.localGroup),
          cos: yesNo(m.cosStaff),
          reviewedText: m.reviewed
            ? t('leadApplication.panel.reviewed')
            : t('leadApplication.panel.notReviewed'),
        })),
        panelHints,
        candidates: candidates.map((c) => ({
          ...c,
          lived: yesNo(c.livedExperience),
          local: yesNo(c.localGroup),
          cos: yesNo(c.cosStaff),
          home: c.homeAreaName ?? t('leadApplication.panel.nationalPool'),
        })),
        reviewers: thisRound.map((r) => ({ name: r.appraiserName, summary: r.summary })),
        reviewRows,
        feedbackSent: view.feedback
          ? view.criteria
              .filter((c) => view.feedback?.[c.code])
              .map((c) => {
                const f = view.feedback?.[c.code] as { judgement: string; feedback: string };
                return {
                  code: c.code,
                  title: c.title,
                  met: f.judgement === 'met',
                  judgement: t(`leadApplication.feedback.${f.judgement}`),
                  text: f.feedback,
                };
              })
          : [],
        questions: view.questions.map((q, i) => ({ q, answer: view.responses?.[i] ?? null })),
        meeting: meetingShown(t, locale, view),
        decision: decisionShown(t, locale, view, titles),
        returned: view.returned as { reason?: string } | null,
        withdrawal: view.withdrawal as { reason?: string } | null,
        awardHref: view.awardId ? `/apply/awards/${view.awardId}/certificate` : null,
        timeline: lines.items
          .filter((line) => line.type !== 'EVIDENCE_DOWNLOADED' && line.type !== 'ANSWER_SAVED')
          .reverse()
          .map((line) => {
            const payload = line.payload as Record<string, unknown>;
            return {
              text: t(`leadApplication.history.${line.type}`, {
                defaultValue: t(`history.${line.type}`, { defaultValue: t('history.other') }),
                code: payload.code ?? '',
                filename: payload.filename ?? '',
              }),
              detail: typeof payload.reason === 'string' ? payload.reason : null,
              at: formatDate(locale, new Date(line.at), true),
              by: line.actorName,
            };
          }),
      },
      status,
    );
  }

  app.get('/lead/applications/:id', async (request, reply) => {
    const { p } = who(request);
    return page(request, reply, await leadView(p, applicationId(request)));
  });

  /**
   * One form of the page: checks what was typed, sends the event with the version the page showed, and
   * goes back to the page. A stale page comes back with the latest state and what was typed; what the
   * workflow refuses comes back as an error summary in plain words.
   */
  const form = (
    action: string,
    anchor: string,
    build: (t: Translate, values: Values, view: ApplicationView) => Built,
  ) => {
    actions.add(action);
    return app.post(`/lead/applications/:id/${action}`, async (request, reply) => {
      const { p, t } = who(request);
      const id = applicationId(request);
      const view = await leadView(p, id);
      const values = valuesOf(request.body);
      const built = build(t, values, view);
      if ('problems' in built) return page(request, reply, view, { values, ...summary(built.problems) }, 400);
      const version = /^\d{1,9}$/.test(values.version ?? '') ? Number(values.version) : undefined;
      try {
        await sendEvent(db, p, id, built.event, version);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'version-mismatch')
          return page(request, reply, await leadView(p, id), { values, stale: true }, 412);
        if (err.code === 'guard-failed') {
          const reasons = (err.extra.blockers as string[] | undefined) ?? [err.message];
          return page(
            request,
            reply,
            view,
            { values, ...summary(reasons.map((r) => ({ text: reasonText(t, r) }))) },
            422,
          );
        }
        if (err.code === 'illegal-transition' || err.code === 'forbidden')
          return page(
            request,
            reply,
            await leadView(p, id),
            { values, ...summary([{ text: t('leadApplication.errors.notNow') }]) },
            409,
          );
        throw err;
      }
      return reply.redirect(`/lead/applications/${id}?done=${action}#${anchor}`, 303);
    });
  };

  const required = (values: Values, name: string, message: string): Problem[] =>
    (values[name] ?? '').trim() ? [] : [{ text: message, field: name }];
  const tooLong = (t: Translate, values: Values, name: string, max: number): Problem[] =>
    (values[name] ?? '').length > max
      ? [{ text: t('leadApplication.errors.tooLong', { max }), field: name }]
      : [];

  form('accept', 'intake', () => ({ event: { type: 'ACCEPT' } }));

  form('return', 'intake', (t, values) => {
    const problems = [
      ...required(values, 'returnReason', t('leadApplication.errors.returnReason')),
      ...tooLong(t, values, 'returnReason', SHORT_MAX),
    ];
    return problems.length
      ? { problems }
      : { event: { type: 'RETURN', reason: (values.returnReason ?? '').trim() } };
  });

  form('assign', 'panel', (t, values) => {
    const userId = uuid.safeParse(values.appraiser ?? '');
    if (!userId.success)
      return { problems: [{ text: t('leadApplication.errors.chooseAppraiser'), field: 'appraiser' }] };
    return { event: { type: 'ASSIGN_APPRAISER', userId: userId.data } };
  });

  form('unassign', 'panel', (t, values) => {
    const userId = uuid.safeParse(values.member ?? '');
    if (!userId.success) return { problems: [{ text: t('leadApplication.errors.chooseMember') }] };
    return { event: { type: 'UNASSIGN_APPRAISER', userId: userId.data } };
  });

  form('start-review', 'panel', () => ({ event: { type: 'START_REVIEW' } }));

  form('feedback', 'feedback', (t, values, view) => {
    const problems: Problem[] = [];
    const criteria: Record<string, { judgement: 'met' | 'further_evidence'; feedback: string }> = {};
    for (const c of view.criteria) {
      const judgement = values[`judgement-${c.code}`];
      if (judgement !== 'met' && judgement !== 'further_evidence')
        problems.push({
          text: t('leadApplication.errors.judgement', { code: c.code }),
          field: `judgement-${c.code}`,
        });
      problems.push(...tooLong(t, values, `feedback-${c.code}`, 10_000));
      criteria[c.code] = {
        judgement: judgement === 'met' ? 'met' : 'further_evidence',
        feedback: (values[`feedback-${c.code}`] ?? '').trim(),
      };
    }
    const questions = (values.questions ?? '')
      .split(/\r?\n/)
      .map((q) => q.trim())
      .filter(Boolean);
    if (questions.length > 50 || questions.some((q) => q.length > SHORT_MAX))
      problems.push({ text: t('leadApplication.errors.questions'), field: 'questions' });
    return problems.length ? { problems } : { event: { type: 'SEND_FEEDBACK', criteria, questions } };
  });

  form('schedule', 'meeting', (t, values) => {
    const problems: Problem[] = [];
    const at = ukInstant(...dateParts(values, 'meeting'), values['meeting-time'] ?? '');
    if (!at) problems.push({ text: t('leadApplication.errors.meetingAt'), field: 'meeting-day' });
    const mode = values.mode;
    if (mode !== 'in_person' && mode !== 'online')
      problems.push({ text: t('leadApplication.errors.mode'), field: 'mode' });
    const location = (values.location ?? '').trim();
    if (mode === 'in_person' && !location)
      problems.push({ text: t('leadApplication.errors.location'), field: 'location' });
    problems.push(...tooLong(t, values, 'location', 1000));
    if (problems.length || !at) return { problems };
    return {
      event: {
        type: 'SCHEDULE_MEETING',
        at: at.toISOString(),
        mode: mode as 'in_person' | 'online',
        location: location || null,
      },
    };
  });

  form('record', 'meeting', (t, values) => {
    const problems: Problem[] = [];
    // The day it was held, from its start: a meeting held today is not in the future.
    const heldAt = ukInstant(...dateParts(values, 'held'), '00:00');
    if (!heldAt) problems.push({ text: t('leadApplication.errors.heldAt'), field: 'held-day' });
    else if (heldAt.getTime() > Date.now())
      problems.push({ text: t('leadApplication.errors.heldInFuture'), field: 'held-day' });
    problems.push(
      ...required(values, 'notes', t('leadApplication.errors.notes')),
      ...tooLong(t, values, 'notes', 50_000),
    );
    if (problems.length || !heldAt) return { problems };
    return {
      event: { type: 'RECORD_MEETING', heldAt: heldAt.toISOString(), notes: (values.notes ?? '').trim() },
    };
  });

  form('decide', 'decision', (t, values, view) => {
    const problems: Problem[] = [];
    const outcome = values.outcome;
    if (outcome !== 'award' && outcome !== 'further_evidence' && outcome !== 'not_awarded')
      problems.push({ text: t('leadApplication.errors.outcome'), field: 'outcome' });
    problems.push(
      ...required(values, 'rationale', t('leadApplication.errors.rationale')),
      ...tooLong(t, values, 'rationale', TEXT_MAX),
    );
    const criteria: Record<string, 'met' | 'further_evidence'> = {};
    for (const c of view.criteria) {
      const judgement = values[`final-${c.code}`];
      if (judgement === 'met' || judgement === 'further_evidence') criteria[c.code] = judgement;
    }
    let requests: { criterion: string; request: string }[] | null = null;
    let dueBy: string | null = null;
    if (outcome === 'further_evidence') {
      requests = view.criteria
        .map((c) => ({ criterion: c.code, request: (values[`request-${c.code}`] ?? '').trim() }))
        .filter((r) => r.request);
      for (const c of view.criteria) problems.push(...tooLong(t, values, `request-${c.code}`, SHORT_MAX));
      if (requests.length === 0)
        problems.push({
          text: t('leadApplication.errors.requests'),
          field: `request-${view.criteria[0]?.code ?? ''}`,
        });
      const due = ukInstant(...dateParts(values, 'due'), '23:59');
      if (!due) problems.push({ text: t('leadApplication.errors.dueBy'), field: 'due-day' });
      else if (due.getTime() <= Date.now())
        problems.push({ text: t('leadApplication.errors.dueInPast'), field: 'due-day' });
      dueBy = due?.toISOString() ?? null;
    }
    if (problems.length) return { problems };
    return {
      event: {
        type: 'DECIDE',
        outcome: outcome as 'award' | 'further_evidence' | 'not_awarded',
        rationale: (values.rationale ?? '').trim(),
        ...(Object.keys(criteria).length ? { criteria } : {}),
        ...(requests ? { requests, dueBy } : {}),
      },
    };
  });

  form('extend', 'deadline', (t, values) => {
    const due = ukInstant(...dateParts(values, 'extend'), '23:59');
    if (!due) return { problems: [{ text: t('leadApplication.errors.dueBy'), field: 'extend-day' }] };
    if (due.getTime() <= Date.now())
      return { problems: [{ text: t('leadApplication.errors.dueInPast'), field: 'extend-day' }] };
    return { event: { type: 'EXTEND_DEADLINE', dueBy: due.toISOString() } };
  });

  form('withdraw', 'withdraw', (t, values) => {
    const problems = [
      ...required(values, 'withdrawReason', t('leadApplication.errors.withdrawReason')),
      ...tooLong(t, values, 'withdrawReason', SHORT_MAX),
      ...(values.confirm === 'yes' ? [] : [{ text: t('leadApplication.errors.confirm'), field: 'confirm' }]),
    ];
    return problems.length
      ? { problems }
      : { event: { type: 'WITHDRAW', reason: (values.withdrawReason ?? '').trim() } };
  });
}
