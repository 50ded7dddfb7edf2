import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  actsForApplicant,
  criterionTasks,
  FINAL_STATES,
  organisationFor,
  tasksByProcess,
} from '../../applications/journey.ts';
import type { ApplicationView } from '../../applications/schemas.ts';
import {
  createApplication,
  getApplication,
  history,
  saveAnswer,
  sendEvent,
} from '../../applications/service.ts';
import { certificateFor, getAward } from '../../awards/service.ts';
import { type Config, publicBaseUrl } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import { DomainError, notFound } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { evidenceDeps } from '../../evidence/deps.ts';
import { closeUnreadUpload, multipartOptions, multipartUpload } from '../../evidence/multipart.ts';
import { contentDisposition } from '../../evidence/routes.ts';
import {
  deleteEvidence,
  downloadEvidence,
  listEvidence,
  openEvidencePreview,
  uploadEvidence,
} from '../../evidence/service.ts';
import { listMyNotifications } from '../../notifications/service.ts';
import { signPledge } from '../../organisations/service.ts';
import type { EvidenceStore } from '../../storage/store.ts';
import { field, param, summary, uuid } from '../forms.ts';
import { formatDate, type Translate, translator } from '../i18n.ts';
import {
  blockerLinks,
  decisionShown,
  EDITABLE_STATUSES,
  fileType,
  formatSize,
  isoDateText,
  meetingShown,
  statusText,
  uploadErrorText,
  viewIn,
} from '../journey.ts';
import { type Pages, requirePerson } from '../pages.ts';

type Options = { db: Db; config: Config; store: EvidenceStore; pages: Pages };

const criterionCode = z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/);
const TEXT_MAX = 20_000;

const UPLOAD_STATUS: Partial<Record<DomainError['code'], number>> = {
  'validation-failed': 400,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'illegal-transition': 409,
};

/**
 * The school's (applicant's) journey (SPEC §9): the pledge, starting an application, the task list, a
 * page per criterion with its answer and evidence, check and submit, and after submission the
 * feedback, the response, further evidence, the decision and the certificate. Every page calls the
 * services the API calls, as the signed-in person: what they may not see answers the 404 page.
 */
export async function applyRoutes(app: FastifyInstance, { db, config, store, pages }: Options) {
  const deps = (request: FastifyRequest) => evidenceDeps(db, store, config, request.log);
  const who = (request: FastifyRequest) => {
    const person = requirePerson(request);
    const locale = request.visitor?.locale ?? 'en';
    return { p: person.principal, locale, t: translator(locale) };
  };
  // The school reads its criteria in its language (the API answers both titles).
  const readView = async (request: FastifyRequest, p: Principal, id: string) =>
    viewIn(request.visitor?.locale ?? 'en', await getApplication(db, p, id));
  const applicationId = (request: FastifyRequest) =>
    param(uuid, (request.params as { id?: string }).id, 'application');

  // -------------------------------------------------------------------------------------------------
  // The pledge, and starting an application

  const pledgePage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, locale, t } = who(request);
    const orgId = param(uuid, (request.params as { orgId?: string }).orgId, 'organisation');
    const org = await organisationFor(db, p, orgId);
    return pages.send(
      request,
      reply,
      'apply/pledge',
      {
        title: t('pledge.title'),
        organisation: org,
        signed: org.pledge
          ? t('pledge.already', {
              date: formatDate(locale, new Date(org.pledge.signedAt)),
              name: org.pledge.signatoryName,
            })
          : null,
        values: org.pledge
          ? { signatoryName: org.pledge.signatoryName, signatoryRole: org.pledge.signatoryRole }
          : {},
        ...extra,
      },
      status,
    );
  };

  app.get('/apply/organisations/:orgId/pledge', (request, reply) => pledgePage(request, reply));

  app.post('/apply/organisations/:orgId/pledge', async (request, reply) => {
    const { p, t } = who(request);
    const orgId = param(uuid, (request.params as { orgId?: string }).orgId, 'organisation');
    const values = {
      signatoryName: field(request.body, 'signatoryName').trim(),
      signatoryRole: field(request.body, 'signatoryRole').trim(),
    };
    const problems = [
      ...(values.signatoryName ? [] : [{ text: t('pledge.nameMissing'), field: 'signatoryName' }]),
      ...(values.signatoryName.length > 200 ? [{ text: t('pledge.tooLong'), field: 'signatoryName' }] : []),
      ...(values.signatoryRole ? [] : [{ text: t('pledge.roleMissing'), field: 'signatoryRole' }]),
      ...(values.signatoryRole.length > 200 ? [{ text: t('pledge.tooLong'), field: 'signatoryRole' }] : []),
    ];
    if (problems.length) return pledgePage(request, reply, { values, ...summary(problems) }, 400);
    await signPledge(db, p, orgId, values);
    return reply.redirect('/?done=pledge', 303);
  });

  app.post('/apply/organisations/:orgId/start', async (request, reply) => {
    const { p } = who(request);
    const orgId = param(uuid, (request.params as { orgId?: string }).orgId, 'organisation');
    const kind = field(request.body, 'kind') === 'renewal' ? 'renewal' : 'initial';
    try {
      const { view } = await createApplication(db, p, { organisationId: orgId, kind });
      return reply.redirect(`/apply/${view.id}`, 303);
    } catch (err) {
      // Someone opened it meanwhile: that one is the application to continue.
      const open =
        err instanceof DomainError && err.code === 'conflict' ? err.extra.applicationId : undefined;
      if (typeof open === 'string') return reply.redirect(`/apply/${open}`, 303);
      throw err;
    }
  });

  // -------------------------------------------------------------------------------------------------
  // The application: the task list while it is a draft, where it stands afterwards

  const header = (t: Translate, view: ApplicationView) => ({
    caption: view.organisationName,
    statusText: statusText(t, view.state),
    kindText: t(`apply.kind.${view.kind}`),
  });

  const tasksPage = async (request: FastifyRequest, reply: FastifyReply, view: ApplicationView) => {
    const { p, t } = who(request);
    const groups = tasksByProcess(view);
    const tasks = groups.flatMap((g) => g.tasks);
    const member = actsForApplicant(p, view);
    const editable = member && EDITABLE_STATUSES.includes(view.status);
    const submitBlockers = view.blockers.SUBMIT ?? [];
    const titles = new Map(view.criteria.map((c) => [c.code, c.title]));
    return pages.send(request, reply, 'apply/tasks', {
      title: t('tasks.title'),
      ...header(t, view),
      view,
      editable,
      member,
      groups: groups.map((g) => ({
        heading: t(`apply.process.${g.process}`),
        items: g.tasks.map((task) => ({
          title: { text: `${task.code}: ${task.title}` },
          hint: { text: t('tasks.evidenceCount', { count: task.evidenceCount }) },
          href: `/apply/${view.id}/criteria/${task.code}`,
          status:
            task.status === 'completed'
              ? { text: t('apply.taskStatus.completed') }
              : {
                  tag: {
                    text: t(`apply.taskStatus.${task.status}`),
                    classes: task.status === 'notStarted' ? 'govuk-tag--blue' : 'govuk-tag--light-blue',
                  },
                },
        })),
      })),
      progressText: t('tasks.progress', {
        done: tasks.filter((task) => task.status === 'completed').length,
        total: tasks.length,
      }),
      pledgeMissing: submitBlockers.some((b) => /pledge/i.test(b)),
      pledgeHref: `/apply/organisations/${view.organisationId}/pledge`,
      checkItem:
        member && view.status === 'draft'
          ? {
              title: { text: t('tasks.checkHeading') },
              hint: { text: t('tasks.checkHint') },
              href: submitBlockers.length ? undefined : `/apply/${view.id}/check`,
              status: submitBlockers.length
                ? { text: t('tasks.cannotStartYet'), classes: 'govuk-task-list__status--cannot-start-yet' }
                : { tag: { text: t('apply.taskStatus.notStarted'), classes: 'govuk-tag--blue' } },
            }
          : null,
      checkHref: `/apply/${view.id}/check`,
      // A criterion's own blockers are its status above; the others (the pledge, the area) are listed.
      blockers: blockerLinks(t, view.id, submitBlockers, titles, view.organisationId).filter(
        (b) => !b.href?.includes('/criteria/'),
      ),
    });
  };

  app.get('/apply/:id', async (request, reply) => {
    const { p } = who(request);
    const view = await readView(request, p, applicationId(request));
    if (view.status === 'draft') return tasksPage(request, reply, view);
    return progressPage(request, reply, view);
  });

  app.get('/apply/:id/tasks', async (request, reply) => {
    const { p } = who(request);
    return tasksPage(request, reply, await readView(request, p, applicationId(request)));
  });

  // -------------------------------------------------------------------------------------------------
  // A criterion: its answer and its evidence

  const criterionPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, locale, t } = who(request);
    const id = applicationId(request);
    const code = param(criterionCode, (request.params as { code?: string }).code, 'criterion');
    const view = await readView(request, p, id);
    const task = criterionTasks(view).find((c) => c.code === code);
    if (!task) throw notFound('criterion');
    const evidence = await listEvidence(db, p, id, { criterion: code });
    const member = actsForApplicant(p, view);
    const editable = member && EDITABLE_STATUSES.includes(view.status);
    const deletable = member && view.status === 'draft' && view.submittedAt === null;
    const query = request.query as Record<string, string | undefined>;
    return pages.send(
      request,
      reply,
      'apply/criterion',
      {
        title: `${task.code}: ${task.title}`,
        caption: `${view.organisationName} · ${t(`apply.process.${task.process}`)}`,
        view,
        task,
        editable,
        deletable,
        values: { answer: task.answer },
        evidence: evidence.map((e) => ({
          id: e.id,
          filename: e.filename,
          type: fileType(e.filename),
          size: formatSize(locale, e.size),
          removed: e.fileRemoved !== null,
          others: e.criteria.filter((c) => c !== code).join(', '),
          hasPreview: e.hasPreview,
          locationRemoved: (e.metadataRemoved ?? []).length > 0,
        })),
        uploadHint: t('criterion.uploadHint', {
          fileSize: formatSize(locale, config.limits.maxFileBytes),
          files: config.limits.maxFilesPerRequest,
        }),
        saved: query.saved === '1',
        deleted: query.deleted,
        uploaded: query.uploaded ? Number(query.uploaded) : null,
        skipped: query.skipped ? Number(query.skipped) : 0,
        backHref: view.status === 'draft' ? `/apply/${id}` : `/apply/${id}/tasks`,
        ...extra,
      },
      status,
    );
  };

  app.get('/apply/:id/criteria/:code', (request, reply) => criterionPage(request, reply));

  app.post('/apply/:id/criteria/:code', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const code = param(criterionCode, (request.params as { code?: string }).code, 'criterion');
    const answer = field(request.body, 'answer');
    if (answer.length > TEXT_MAX) {
      return criterionPage(
        request,
        reply,
        {
          values: { answer },
          ...summary([{ text: t('criterion.answerTooLong', { max: TEXT_MAX }), field: 'answer' }]),
        },
        400,
      );
    }
    try {
      // The answer the page showed: one changed meanwhile by someone else is not overwritten.
      await saveAnswer(db, p, id, code, answer, field(request.body, 'previous'));
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'version-mismatch')) throw err;
      return criterionPage(
        request,
        reply,
        { values: { answer }, staleAnswer: String(err.extra.currentText ?? '') },
        409,
      );
    }
    return reply.redirect(`/apply/${id}/criteria/${code}?saved=1`, 303);
  });

  // Uploads: multipart, its CSRF token in the action's query string (checked before the body is read).
  await app.register(async (uploads) => {
    const { limits } = config;
    // Two file inputs (files, a folder): each sends a part even when empty.
    await uploads.register(multipart, multipartOptions(config, 2));
    uploads.post(
      '/apply/:id/criteria/:code/evidence',
      {
        onSend: closeUnreadUpload,
      },
      async (request, reply) => {
        const { p, locale, t } = who(request);
        const id = applicationId(request);
        const code = param(criterionCode, (request.params as { code?: string }).code, 'criterion');
        try {
          if (!request.isMultipart()) throw new DomainError('validation-failed', 'Send the files as a form');
          // The criterion of the page is the default: subfolders named by criterion or process file theirs.
          const result = await uploadEvidence(
            deps(request),
            p,
            id,
            multipartUpload(request.parts(), limits, { criteriaAreDefault: true }),
          );
          const skipped = result.skipped.length ? `&skipped=${result.skipped.length}` : '';
          return reply.redirect(
            `/apply/${id}/criteria/${code}?uploaded=${result.items.length}${skipped}`,
            303,
          );
        } catch (err) {
          const status = err instanceof DomainError ? UPLOAD_STATUS[err.code] : undefined;
          if (!status) throw err;
          request.log.info({ err }, 'upload refused');
          return criterionPage(
            request,
            reply,
            summary([{ text: uploadErrorText(t, locale, err, limits), field: 'files' }]),
            status,
          );
        }
      },
    );
  });

  app.get('/apply/:id/evidence/:eid', async (request, reply) => {
    const { p } = who(request);
    const id = applicationId(request);
    const eid = param(uuid, (request.params as { eid?: string }).eid, 'evidence');
    const { item, stream } = await downloadEvidence(
      deps(request),
      p,
      id,
      eid,
      () => ({ kind: 'full' }),
      true,
    );
    return reply
      .header('content-type', item.mediaType === 'text/plain' ? 'text/plain; charset=utf-8' : item.mediaType)
      .header('content-disposition', contentDisposition(item.filename))
      .header('content-length', String(item.size))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(stream ?? '');
  });

  // An image's preview, for the evidence tables of the school's and the panel's pages: the file's rule.
  app.get('/apply/:id/evidence/:eid/preview', async (request, reply) => {
    const { p } = who(request);
    const id = applicationId(request);
    const eid = param(uuid, (request.params as { eid?: string }).eid, 'evidence');
    const { mediaType, stream } = await openEvidencePreview(
      deps(request),
      p,
      id,
      eid,
      request.method !== 'HEAD',
    );
    return reply
      .header('content-type', mediaType)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, max-age=86400')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(stream ?? '');
  });

  app.post('/apply/:id/evidence/:eid/delete', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const eid = param(uuid, (request.params as { eid?: string }).eid, 'evidence');
    const back = param(criterionCode, field(request.body, 'criterion'), 'criterion');
    const name = field(request.body, 'filename');
    try {
      await deleteEvidence(deps(request), p, id, eid);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'illegal-transition') {
        (request.params as { code?: string }).code = back;
        return criterionPage(request, reply, summary([{ text: t('upload.errors.deleteClosed') }]), 409);
      }
      throw err;
    }
    return reply.redirect(`/apply/${id}/criteria/${back}?deleted=${encodeURIComponent(name)}`, 303);
  });

  // -------------------------------------------------------------------------------------------------
  // Check answers and submit

  const checkPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    view: ApplicationView,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { t } = who(request);
    const titles = new Map(view.criteria.map((c) => [c.code, c.title]));
    const blockers = blockerLinks(t, view.id, view.blockers.SUBMIT ?? [], titles, view.organisationId);
    return pages.send(
      request,
      reply,
      'apply/check',
      {
        title: t('check.title'),
        ...header(t, view),
        view,
        blockers,
        canSubmit: view.allowedEvents.includes('SUBMIT'),
        groups: tasksByProcess(view).map((g) => ({
          heading: t(`apply.process.${g.process}`),
          // A summary card per criterion: its answer and its evidence, each with a link to change it.
          cards: g.tasks.map((task) => ({
            card: { title: { text: `${task.code}: ${task.title}`, headingLevel: 3 } },
            classes: 'app-answers',
            rows: [
              {
                key: { text: t('check.answer') },
                value: { text: task.answer.trim() ? task.answer : t('check.noAnswer') },
                actions: {
                  items: [
                    {
                      href: `/apply/${view.id}/criteria/${task.code}#answer`,
                      text: t('check.change'),
                      visuallyHiddenText: t('check.answerOf', { code: task.code }),
                    },
                  ],
                },
              },
              {
                key: { text: t('check.evidence') },
                value: { text: t('tasks.evidenceCount', { count: task.evidenceCount }) },
                actions: {
                  items: [
                    {
                      href: `/apply/${view.id}/criteria/${task.code}#evidence`,
                      text: t('check.change'),
                      visuallyHiddenText: t('check.evidenceOf', { code: task.code }),
                    },
                  ],
                },
              },
            ],
          })),
        })),
        ...extra,
      },
      status,
    );
  };

  app.get('/apply/:id/check', async (request, reply) => {
    const { p } = who(request);
    const view = await readView(request, p, applicationId(request));
    if (view.status !== 'draft') return reply.redirect(`/apply/${view.id}`, 303);
    return checkPage(request, reply, view);
  });

  /** Sends an event with the version the page showed; a stale page gets the latest state back. */
  const sendFromPage = async (
    p: Principal,
    id: string,
    body: Parameters<typeof sendEvent>[3],
    version: string,
  ): Promise<{ view: ApplicationView } | { stale: ApplicationView } | { blocked: string[] }> => {
    const expected = /^\d{1,9}$/.test(version) ? Number(version) : undefined;
    try {
      return { view: (await sendEvent(db, p, id, body, expected)).view };
    } catch (err) {
      if (err instanceof DomainError && err.code === 'version-mismatch')
        return { stale: await getApplication(db, p, id) };
      if (err instanceof DomainError && err.code === 'guard-failed')
        return { blocked: (err.extra.blockers as string[] | undefined) ?? [err.message] };
      throw err;
    }
  };

  app.post('/apply/:id/submit', async (request, reply) => {
    const { p } = who(request);
    const id = applicationId(request);
    const sent = await sendFromPage(p, id, { type: 'SUBMIT' }, field(request.body, 'version'));
    if ('view' in sent) return reply.redirect(`/apply/${id}?done=submitted`, 303);
    const view =
      'stale' in sent ? viewIn(request.visitor?.locale ?? 'en', sent.stale) : await readView(request, p, id);
    if (view.status !== 'draft') return reply.redirect(`/apply/${id}`, 303);
    return checkPage(request, reply, view, 'stale' in sent ? { stale: true } : {}, 409);
  });

  // -------------------------------------------------------------------------------------------------
  // After submission: where it stands, feedback and response, further evidence, the decision

  async function progressPage(
    request: FastifyRequest,
    reply: FastifyReply,
    view: ApplicationView,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const { p, locale, t } = who(request);
    const titles = new Map(view.criteria.map((c) => [c.code, c.title]));
    const [lines, award] = await Promise.all([
      history(db, p, view.id, 200),
      view.awardId ? getAward(db, p, view.awardId) : null,
    ]);
    const date = (value: unknown, withTime = false) => isoDateText(locale, value, withTime);
    const query = request.query as Record<string, string | undefined>;
    // The panel's feedback of this round, or (once a new round began) of the last round that had one.
    const shownRound: Pick<ApplicationView, 'round' | 'feedback' | 'questions' | 'responses'> =
      view.feedback || view.questions.length
        ? view
        : ([...view.previousRounds].reverse().find((r) => r.feedback) ?? view);
    return pages.send(
      request,
      reply,
      'apply/progress',
      {
        title: t('progress.title'),
        ...header(t, view),
        view,
        done: query.done,
        submittedOn: date(view.submittedAt),
        returned: view.returned as { reason?: string } | null,
        // In the criteria's order, each with the panel's judgement as a tag.
        feedback: (shownRound.feedback ? view.criteria : [])
          .filter((c) => shownRound.feedback?.[c.code])
          .map((c) => {
            const f = shownRound.feedback?.[c.code] as { judgement: string; feedback: string };
            return {
              code: c.code,
              title: c.title,
              met: f.judgement === 'met',
              judgement: f.judgement === 'met' ? t('progress.met') : t('progress.furtherEvidence'),
              text: f.feedback,
            };
          }),
        feedbackRound: shownRound === view ? null : shownRound.round,
        questions: shownRound.questions,
        responses: shownRound.responses,
        member: actsForApplicant(p, view),
        canRespond: actsForApplicant(p, view) && view.status === 'awaitingResponse',
        meeting: meetingShown(t, locale, view),
        decision: decisionShown(
          t,
          locale,
          view,
          titles,
          (criterion) => `/apply/${view.id}/criteria/${criterion}#evidence`,
        ),
        canResubmit: actsForApplicant(p, view) && view.status === 'furtherEvidenceRequested',
        resubmitBlockers: blockerLinks(t, view.id, view.blockers.RESUBMIT ?? [], titles, view.organisationId),
        award: award
          ? {
              id: award.id,
              current: award.current,
              expires: date(award.expiresAt),
              renewalDue: award.state === 'renewalDue',
              certificateHref: `/apply/awards/${award.id}/certificate`,
            }
          : null,
        ended: FINAL_STATES.includes(view.status),
        tasksHref: `/apply/${view.id}/tasks`,
        timeline: lines.items
          // Saving an answer or reading a file is not news: the timeline keeps what changed the application.
          .filter((line) => line.type !== 'EVIDENCE_DOWNLOADED' && line.type !== 'ANSWER_SAVED')
          .reverse()
          .map((line) => {
            const payload = line.payload as Record<string, unknown>;
            return {
              text: t(`history.${line.type}`, {
                defaultValue: t('history.other'),
                code: payload.code ?? '',
                filename: payload.filename ?? '',
              }),
              at: formatDate(locale, new Date(line.at), true),
              // Panel changes name nobody (SPEC §3).
              by: line.type === 'PANEL_CHANGED' ? null : line.actorName,
            };
          }),
        ...extra,
      },
      status,
    );
  }

  app.post('/apply/:id/respond', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const view = await readView(request, p, id);
    const answers = view.questions.map((_q, i) => field(request.body, `answer-${i + 1}`));
    const typed = Object.fromEntries(answers.map((a, i) => [`answer-${i + 1}`, a]));
    const problems = answers.flatMap((a, i) => [
      ...(a.trim() ? [] : [{ text: t('progress.answerMissing', { n: i + 1 }), field: `answer-${i + 1}` }]),
      ...(a.length > TEXT_MAX
        ? [{ text: t('criterion.answerTooLong', { max: TEXT_MAX }), field: `answer-${i + 1}` }]
        : []),
    ]);
    if (problems.length)
      return progressPage(request, reply, view, { values: typed, ...summary(problems) }, 400);
    const sent = await sendFromPage(p, id, { type: 'RESPOND', answers }, field(request.body, 'version'));
    if ('view' in sent) return reply.redirect(`/apply/${id}?done=responded`, 303);
    if ('stale' in sent)
      return progressPage(
        request,
        reply,
        viewIn(request.visitor?.locale ?? 'en', sent.stale),
        { values: typed, stale: true },
        409,
      );
    return progressPage(
      request,
      reply,
      view,
      { values: typed, ...summary(sent.blocked.map((text) => ({ text }))) },
      422,
    );
  });

  app.post('/apply/:id/resubmit', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const sent = await sendFromPage(p, id, { type: 'RESUBMIT' }, field(request.body, 'version'));
    if ('view' in sent) return reply.redirect(`/apply/${id}?done=resubmitted`, 303);
    if ('stale' in sent)
      return progressPage(
        request,
        reply,
        viewIn(request.visitor?.locale ?? 'en', sent.stale),
        { stale: true },
        409,
      );
    const view = await readView(request, p, id);
    const titles = new Map(view.criteria.map((c) => [c.code, c.title]));
    const links = blockerLinks(t, id, sent.blocked, titles, view.organisationId);
    return progressPage(
      request,
      reply,
      view,
      { errors: links.map((b) => ({ text: b.text, href: b.href })) },
      422,
    );
  });

  app.get('/apply/awards/:awardId/certificate', async (request, reply) => {
    const { p } = who(request);
    const awardId = param(uuid, (request.params as { awardId?: string }).awardId, 'award');
    const { pdf, filename } = await certificateFor(db, p, awardId, publicBaseUrl(config));
    return reply
      .header('content-type', 'application/pdf')
      .header('content-disposition', contentDisposition(filename))
      .header('cache-control', 'private, no-store')
      .send(pdf);
  });

  // -------------------------------------------------------------------------------------------------
  // The person's notifications

  app.get('/account/notifications', async (request, reply) => {
    const { p, locale, t } = who(request);
    const found = await listMyNotifications(db, p, { limit: 50 });
    return pages.send(request, reply, 'account/notifications', {
      title: t('notifications.title'),
      notifications: found.items.map((n) => ({
        subject: n.subject,
        text: n.text,
        at: formatDate(locale, new Date(n.createdAt), true),
        href: n.entity === 'application' && n.entityId ? `/apply/${n.entityId}` : null,
      })),
    });
  });
}
