import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tasksByProcess } from '../../applications/journey.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import type { Locale, ReviewDraftBody } from '../../db/schema.ts';
import { DomainError } from '../../domain/errors.ts';
import { evidenceDeps } from '../../evidence/deps.ts';
import { contentDisposition } from '../../evidence/routes.ts';
import { parseRange } from '../../evidence/service.ts';
import {
  assignedReviews,
  declareConflict,
  openReview,
  reviewEvidence,
  saveReviewDraft,
  submitReview,
} from '../../reviews/service.ts';
import type { EvidenceStore } from '../../storage/store.ts';
import { getStream, listStreams } from '../../streams/service.ts';
import { field, param, summary, uuid } from '../forms.ts';
import { formatDate, type Translate, translator } from '../i18n.ts';
import { fileType, formatSize, stateKey } from '../journey.ts';
import { type Pages, requirePerson } from '../pages.ts';

type Options = { db: Db; config: Config; store: EvidenceStore; pages: Pages };

const PAGE_SIZE = 50;
const COMMENT_MAX = 10_000;
const SUMMARY_MAX = 20_000;
const REASON_MAX = 5000;
const JUDGEMENTS = ['met', 'not_yet'] as const;
type Judgement = (typeof JUDGEMENTS)[number];

/** How the review page shows a file: in the page when browsers can, else as a download link. */
function shownAs(mediaType: string): 'image' | 'pdf' | 'video' | 'audio' | 'download' {
  if (['image/jpeg', 'image/png', 'image/webp', 'image/gif'].includes(mediaType)) return 'image';
  if (mediaType === 'application/pdf') return 'pdf';
  if (mediaType.startsWith('video/')) return 'video';
  if (mediaType.startsWith('audio/')) return 'audio';
  return 'download';
}

/**
 * The policy of a file a review page shows: nothing in it may run (the browsers' own viewers of PDFs
 * and media still show it in a sandboxed document), and only this site's pages may frame it.
 */
const FILE_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox; frame-ancestors 'self'";

/** "3 days ago", "2 awr yn ôl": the language's own words and plurals. */
function ago(locale: Locale, at: Date, now = new Date()): string {
  const format = new Intl.RelativeTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', { numeric: 'auto' });
  const minutes = Math.max(0, Math.round((now.getTime() - at.getTime()) / 60_000));
  if (minutes < 1) return format.format(0, 'second');
  if (minutes < 60) return format.format(-minutes, 'minute');
  if (minutes < 24 * 60) return format.format(-Math.round(minutes / 60), 'hour');
  return format.format(-Math.round(minutes / (24 * 60)), 'day');
}

/** The review form's fields as typed: each criterion's judgement and comment, and the summary. */
function typedReview(body: unknown, codes: string[]): ReviewDraftBody {
  const judgementOf = (code: string): Judgement | null => {
    const value = field(body, `${code}-judgement`);
    return (JUDGEMENTS as readonly string[]).includes(value) ? (value as Judgement) : null;
  };
  return {
    criteria: Object.fromEntries(
      codes.map((code) => [code, { judgement: judgementOf(code), comment: field(body, `${code}-comment`) }]),
    ),
    summary: field(body, 'summary'),
  };
}

/** A review (drafted or typed) as the form's values. */
const formValues = (review: ReviewDraftBody | null): Record<string, string> =>
  review
    ? {
        ...Object.fromEntries(
          Object.entries(review.criteria).flatMap(([code, c]) => [
            [`${code}-judgement`, c.judgement ?? ''],
            [`${code}-comment`, c.comment],
          ]),
        ),
        summary: review.summary,
      }
    : {};

/**
 * The appraisers' pages (SPEC §9): the applications on whose panel they sit, and the review page with
 * each criterion's answer beside its evidence, a draft kept as they go, submission and a declared
 * conflict through the workflow. Only the application's panel reaches these pages: its lead, an admin
 * or its school get the page-not-found page, as does anyone for an application outside their scope.
 */
export async function reviewRoutes(app: FastifyInstance, { db, config, store, pages }: Options) {
  const who = (request: FastifyRequest) => {
    const person = requirePerson(request);
    const locale = request.visitor?.locale ?? 'en';
    return { p: person.principal, locale, t: translator(locale) };
  };
  const applicationId = (request: FastifyRequest) =>
    param(uuid, (request.params as { id?: string }).id, 'application');

  // -------------------------------------------------------------------------------------------------
  // What is assigned to the appraiser

  app.get('/review', async (request, reply) => {
    const { p, locale, t } = who(request);
    const query = request.query as Record<string, string | undefined>;
    const cursor = typeof query.cursor === 'string' && query.cursor ? query.cursor : undefined;
    const [found, streams] = await Promise.all([
      assignedReviews(db, p, { limit: PAGE_SIZE, cursor }),
      listStreams(db),
    ]);
    const streamName = new Map(streams.items.map((s) => [s.id, s.name]));
    return pages.send(request, reply, 'review/list', {
      title: t('review.list.title'),
      // The one outcome the list reports: a declared conflict (the application has just left it).
      conflictDeclared: query.done === 'conflict',
      rows: found.items.map((a) => ({
        href: `/review/${a.id}`,
        organisation: a.organisationName,
        stream: streamName.get(a.streamId) ?? '',
        round: a.round,
        state: t(`review.state.${stateKey(a.state)}`),
        assigned: a.assignedAt ? t('review.list.assigned', { ago: ago(locale, a.assignedAt) }) : null,
        due: a.reviewDue,
        dueText: a.reviewDue
          ? a.openedAt
            ? t('review.list.dueSince', { ago: ago(locale, a.openedAt) })
            : t('review.list.dueWhenOpen')
          : a.reviewed
            ? t('review.list.reviewed', { round: a.round })
            : t('review.list.nothingDue'),
      })),
      nextHref: found.nextCursor ? `/review?cursor=${encodeURIComponent(found.nextCursor)}` : null,
    });
  });

  // -------------------------------------------------------------------------------------------------
  // The review page

  const reviewPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    { values, ...extra }: { values?: Record<string, string> } & Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, locale, t } = who(request);
    const id = applicationId(request);
    const review = await openReview(db, p, id);
    const { view } = review;
    const stream = await getStream(db, view.streamId);
    const evidenceOf = (code: string) =>
      review.evidence
        .filter((e) => e.criteria.includes(code))
        .map((e) => ({
          href: `/review/${id}/evidence/${e.id}`,
          // A photo is shown by its small preview (quick to load beside the answer), linked to the file.
          previewHref: e.hasPreview && !e.fileRemoved ? `/apply/${id}/evidence/${e.id}/preview` : null,
          filename: e.filename,
          shownAs: e.fileRemoved ? 'removed' : shownAs(e.mediaType),
          type: fileType(e.filename),
          size: formatSize(locale, e.size),
          newSince: e.newSinceRound ? t('review.page.newSince', { round: e.newSinceRound }) : null,
        }));
    const submitted = review.submitted;
    const query = request.query as Record<string, string | undefined>;
    return pages.send(
      request,
      reply,
      'review/page',
      {
        title: t('review.page.title', { organisation: view.organisationName }),
        caption: t('review.page.caption', {
          stream: stream.name,
          round: view.round,
        }),
        view,
        stateText: t(`review.state.${stateKey(view.state)}`),
        canDraft: review.canDraft,
        canSubmit: view.allowedEvents.includes('SUBMIT_REVIEW'),
        canDeclareConflict: view.allowedEvents.includes('DECLARE_CONFLICT'),
        evidenceReadable: review.evidenceReadable,
        draftSaved: review.draft ? formatDate(locale, review.draft.savedAt, true) : null,
        saved: query.saved === '1',
        justSubmitted: query.submitted === '1',
        groups: tasksByProcess(view).map((g) => ({
          heading: t(`apply.process.${g.process}`),
          criteria: g.tasks.map((task) => {
            const mine = submitted?.criteria[task.code];
            return {
              code: task.code,
              title: task.title,
              answer: task.answer,
              evidence: evidenceOf(task.code),
              submitted: mine
                ? {
                    met: mine.judgement === 'met',
                    judgement: t(`review.judgement.${mine.judgement}`),
                    comment: mine.comment,
                  }
                : null,
            };
          }),
        })),
        submitted: submitted
          ? { summary: submitted.summary, on: formatDate(locale, new Date(submitted.submittedAt), true) }
          : null,
        // What was just typed, over the saved draft.
        values: { ...formValues(review.draft), ...values },
        ...extra,
      },
      status,
    );
  };

  app.get('/review/:id', (request, reply) => reviewPage(request, reply));

  /** Lengths the workflow refuses, and (to submit) every criterion's judgement, as the error summary. */
  function problems(t: Translate, review: ReviewDraftBody, titles: Map<string, string>, submitting: boolean) {
    return [
      ...Object.entries(review.criteria).flatMap(([code, c]) => [
        ...(submitting && !c.judgement
          ? [
              {
                text: t('review.errors.judgementMissing', { code, title: titles.get(code) ?? '' }),
                field: `${code}-judgement`,
              },
            ]
          : []),
        ...(c.comment.length > COMMENT_MAX
          ? [
              {
                text: t('review.errors.commentTooLong', { code, max: COMMENT_MAX }),
                field: `${code}-comment`,
              },
            ]
          : []),
      ]),
      ...(review.summary.length > SUMMARY_MAX
        ? [{ text: t('review.errors.summaryTooLong', { max: SUMMARY_MAX }), field: 'summary' }]
        : []),
    ];
  }

  /** What the workflow refuses, in the person's words, with the latest page. */
  const refused = (t: Translate, err: unknown): string | null => {
    if (!(err instanceof DomainError)) return null;
    if (err.code === 'illegal-transition') return t('review.errors.notOpen');
    if (err.code === 'guard-failed') return t('review.errors.refused');
    return null;
  };

  const version = (request: FastifyRequest) => {
    const typed = field(request.body, 'version');
    return /^\d{1,9}$/.test(typed) ? Number(typed) : undefined;
  };

  app.post('/review/:id', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const { view } = await openReview(db, p, id);
    const codes = view.criteria.map((c) => c.code);
    const typed = typedReview(request.body, codes);
    const values = formValues(typed);
    const submitting = field(request.body, 'action') === 'submit';
    const listed = problems(t, typed, new Map(view.criteria.map((c) => [c.code, c.title])), submitting);
    if (listed.length) return reviewPage(request, reply, { values, ...summary(listed) }, 400);
    try {
      if (!submitting) {
        await saveReviewDraft(db, p, id, typed);
        return reply.redirect(`/review/${id}?saved=1`, 303);
      }
      const criteria = Object.fromEntries(
        Object.entries(typed.criteria).map(([code, c]) => [
          code,
          { judgement: c.judgement as Judgement, comment: c.comment },
        ]),
      );
      await submitReview(db, p, id, { criteria, summary: typed.summary }, version(request));
      return reply.redirect(`/review/${id}?submitted=1`, 303);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'version-mismatch')
        return reviewPage(request, reply, { values, stale: true }, 409);
      const text = refused(t, err);
      if (text) return reviewPage(request, reply, { values, ...summary([{ text }]) }, 409);
      throw err;
    }
  });

  app.post('/review/:id/conflict', async (request, reply) => {
    const { p, t } = who(request);
    const id = applicationId(request);
    const reason = field(request.body, 'reason').trim();
    const values = { reason };
    const listed = [
      ...(reason ? [] : [{ text: t('review.errors.reasonMissing'), field: 'reason' }]),
      ...(reason.length > REASON_MAX
        ? [{ text: t('review.errors.reasonTooLong', { max: REASON_MAX }), field: 'reason' }]
        : []),
    ];
    // The review form shows its draft, the conflict's form what was typed.
    const again = (extra: Record<string, unknown>, status: number) =>
      reviewPage(request, reply, { conflictOpen: true, values, ...extra }, status);
    if (listed.length) return again(summary(listed), 400);
    try {
      await declareConflict(db, p, id, reason, version(request));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'version-mismatch') return again({ stale: true }, 409);
      const text = refused(t, err);
      if (text) return again(summary([{ text }]), 409);
      throw err;
    }
    return reply.redirect('/review?done=conflict', 303);
  });

  // -------------------------------------------------------------------------------------------------
  // Evidence shown in the page: the API's download (scope, history, ranges), answered inline

  app.get('/review/:id/evidence/:eid', async (request, reply) => {
    const { p } = who(request);
    const id = applicationId(request);
    const eid = param(uuid, (request.params as { eid?: string }).eid, 'evidence');
    const ifRange = request.headers['if-range'];
    const { item, range, stream } = await reviewEvidence(
      evidenceDeps(db, store, config, request.log),
      p,
      id,
      eid,
      (file) =>
        // An If-Range naming another version asks for the whole file (our ETags are strong).
        ifRange !== undefined && ifRange !== `"${file.sha256}"`
          ? { kind: 'full' }
          : parseRange(request.headers.range, file.size),
      request.method !== 'HEAD',
    );
    const shown = shownAs(item.mediaType);
    reply
      .header('etag', `"${item.sha256}"`)
      .header('accept-ranges', 'bytes')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      .header('content-security-policy', FILE_CONTENT_SECURITY_POLICY);
    if (range.kind === 'unsatisfiable')
      return reply.code(416).header('content-range', `bytes */${item.size}`).send('');
    reply
      .header('content-type', item.mediaType === 'text/plain' ? 'text/plain; charset=utf-8' : item.mediaType)
      .header(
        'content-disposition',
        contentDisposition(item.filename, shown === 'download' ? 'attachment' : 'inline'),
      );
    if (range.kind === 'partial') {
      const { start, end } = range.range;
      reply
        .code(206)
        .header('content-range', `bytes ${start}-${end}/${item.size}`)
        .header('content-length', String(end - start + 1));
    } else {
      reply.code(200).header('content-length', String(item.size));
    }
    return reply.send(stream ?? '');
  });
}
