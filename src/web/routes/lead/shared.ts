import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APPLICATION_FINAL_STATES } from '../../../../workflows/index.ts';
import { getArea, listAreas } from '../../../areas/service.ts';
import type { Db } from '../../../db/index.ts';
import { assertLeadOrAdmin } from '../../../domain/access.ts';
import { notFound, validationFailed } from '../../../domain/errors.ts';
import type { Principal } from '../../../domain/principal.ts';
import { listStreams } from '../../../streams/service.ts';
import { formatDate, type Translate, translator } from '../../i18n.ts';
import { requirePerson } from '../../pages.ts';

/** The lead's pages are for local leads and admins; anyone else is refused (403), as the API refuses the dashboard. */
export function leadOf(request: FastifyRequest) {
  const person = requirePerson(request);
  assertLeadOrAdmin(person.principal, 'These pages are for local leads and admins');
  const locale = request.visitor?.locale ?? 'en';
  const t = translator(locale);
  return { p: person.principal, locale, t, date: (d: string | Date) => formatDate(locale, new Date(d)) };
}

/** A path parameter that is not one of ours names nothing: the page-not-found page. */
export function idParam(request: FastifyRequest, name: string, what: string): string {
  const parsed = z.uuid().safeParse((request.params as Record<string, unknown>)[name]);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

/** Rows a list page shows at a time. */
export const PAGE_SIZE = 25;

/** The paging parameters every list page adds to its API filters: the cursor and the trail back. */
export const paging = {
  cursor: z.string().max(500).optional(),
  back: z.string().max(8000).optional(),
};

/**
 * A GET form sends every field, empty ones too: an empty field is no filter. The language toggle is
 * handled before the route.
 */
export function parseFilters<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const given = Object.fromEntries(
    Object.entries((query ?? {}) as Record<string, unknown>).filter(
      ([key, value]) => key !== 'lang' && typeof value === 'string' && value.trim() !== '',
    ),
  );
  const parsed = schema.safeParse(given);
  if (!parsed.success)
    throw validationFailed(
      'The filters are not valid',
      parsed.error.issues.map((i) => ({ path: `query.${i.path.join('.')}`, message: i.message })),
    );
  return parsed.data;
}

/** A query string of the filters (their paging left out) and `extra`, for links and the CSV download. */
export function queryOf(filters: Record<string, unknown>, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters))
    if (value !== undefined && value !== null && value !== '' && key !== 'cursor' && key !== 'back')
      params.set(key, String(value));
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * GOV.UK pagination over keyset pages: the next link carries the next cursor and, in `back`, the
 * cursors of the pages before it, so "Previous" needs no offset (the lists stay fast at any depth).
 */
export function pagination(
  t: Translate,
  path: string,
  filters: Record<string, unknown> & { cursor?: string; back?: string },
  nextCursor: string | null,
) {
  const trail = filters.back ? filters.back.split(',') : [];
  const current = filters.cursor ?? '';
  const previous =
    filters.cursor !== undefined
      ? {
          href: `${path}${queryOf(filters, {
            ...(trail.at(-1) ? { cursor: trail.at(-1) as string } : {}),
            ...(trail.length > 1 ? { back: trail.slice(0, -1).join(',') } : {}),
          })}`,
          text: t('lead.paging.previous'),
        }
      : undefined;
  const next = nextCursor
    ? {
        href: `${path}${queryOf(filters, {
          cursor: nextCursor,
          ...(filters.cursor !== undefined ? { back: [...trail, current].join(',') } : {}),
        })}`,
        text: t('lead.paging.next'),
      }
    : undefined;
  return previous || next ? { previous, next, landmarkLabel: t('lead.paging.label') } : null;
}

export type Area = { id: string; name: string };

/** The areas the caller looks after: a lead's own, or every area for an admin. */
export async function areasOf(db: Db, p: Principal): Promise<Area[]> {
  if (p.isAdmin) {
    const page = await listAreas(db, { limit: 500 });
    return page.items.map((a) => ({ id: a.id, name: a.name }));
  }
  const areas = await Promise.all(p.leadAreaIds.map((id) => getArea(db, id)));
  return areas.map((a) => ({ id: a.id, name: a.name })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The streams by id and by slug (the dashboard names streams by slug, the lists by id). */
export async function streamsOf(db: Db) {
  const streams = (await listStreams(db)).items.map((s) => ({ id: s.id, slug: s.slug, name: s.name }));
  const byId = new Map(streams.map((s) => [s.id, s]));
  const bySlug = new Map(streams.map((s) => [s.slug, s]));
  return { streams, byId, bySlug };
}

/** The application states in workflow order (SPEC §4). */
export const APPLICATION_STATES = [
  'draft',
  'submitted',
  'appraisal.panelForming',
  'appraisal.reviewing',
  'appraisal.consensus',
  'awaitingResponse',
  'meeting',
  'furtherEvidenceRequested',
  ...APPLICATION_FINAL_STATES,
] as const;

export const AWARD_STATES = ['active', 'renewalDue', 'renewing', 'renewed', 'expired', 'revoked'] as const;

/** A state's words: `appraisal.reviewing` reads as lead.state.appraisal_reviewing. */
export const stateText = (t: Translate, state: string) => t(`lead.state.${state.replace(/\./g, '_')}`);
export const awardStateText = (t: Translate, state: string) => t(`lead.awardState.${state}`);

/** Select items for a GOV.UK select: "any" first, the chosen one selected. */
export function selectItems(
  anyText: string,
  options: { value: string; text: string }[],
  chosen: string | undefined,
) {
  return [
    { value: '', text: anyText, selected: !chosen },
    ...options.map((o) => ({ ...o, selected: o.value === chosen })),
  ];
}

/** What a zod issue on a form field says, in the person's language: `lead.<form>.errors.<field>`. */
export function fieldProblems(t: Translate, form: string, issues: z.core.$ZodIssue[]) {
  const fields = [...new Set(issues.map((i) => String(i.path[0] ?? '')))].filter(Boolean);
  return fields.map((field) => ({ text: t(`lead.${form}.errors.${field}`), field }));
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
/** Table cells with a link are HTML: names in them are escaped here. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
