import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APPLICATION_CSV_COLUMNS } from '../../../applications/routes.ts';
import { listApplicationsQuery } from '../../../applications/schemas.ts';
import { listApplications } from '../../../applications/service.ts';
import { AWARD_SORT_KEYS } from '../../../awards/repository.ts';
import { AWARD_CSV_COLUMNS } from '../../../awards/routes.ts';
import { listAwards } from '../../../awards/service.ts';
import type { Db } from '../../../db/index.ts';
import { sendCsv } from '../../../http/csv.ts';
import { sortQuery } from '../../../http/pagination.ts';
import { ORGANISATION_SORT_KEYS } from '../../../organisations/repository.ts';
import { ORGANISATION_CSV_COLUMNS } from '../../../organisations/routes.ts';
import { getOrganisation, listOrganisations } from '../../../organisations/service.ts';
import type { Pages } from '../../pages.ts';
import {
  APPLICATION_STATES,
  AWARD_STATES,
  areasOf,
  awardStateText,
  escapeHtml,
  leadOf,
  PAGE_SIZE,
  pagination,
  paging,
  parseFilters,
  queryOf,
  selectItems,
  stateText,
  streamsOf,
} from './shared.ts';

const instant = z.iso.datetime({ offset: true });

/** The filters of GET /applications, and the page's paging. */
const applicationFilters = listApplicationsQuery.extend(paging);
/** The filters of GET /awards. */
const awardFilters = z.strictObject({
  state: z.enum(AWARD_STATES).optional(),
  organisationId: z.uuid().optional(),
  areaId: z.uuid().optional(),
  stream: z.string().max(60).optional(),
  current: z.enum(['true', 'false']).optional(),
  expiringBefore: instant.optional(),
  updatedSince: instant.optional(),
  q: z.string().trim().min(1).max(200).optional(),
  sort: sortQuery(AWARD_SORT_KEYS),
  ...paging,
});
/** The filters of GET /organisations. */
const organisationFilters = z.strictObject({
  areaId: z.uuid().optional(),
  stream: z.string().max(60).optional(),
  q: z.string().max(200).optional(),
  pledged: z.enum(['true', 'false']).optional(),
  updatedSince: instant.optional(),
  sort: sortQuery(ORGANISATION_SORT_KEYS),
  ...paging,
});

/** Filters a list's form shows as fields; any other given filter travels as a hidden field. */
const hiddenFilters = (filters: Record<string, unknown>, shown: string[]) =>
  Object.entries(filters)
    .filter(
      ([key, value]) => value !== undefined && !shown.includes(key) && key !== 'cursor' && key !== 'back',
    )
    .map(([name, value]) => ({ name, value: String(value) }));

/**
 * The lead's lists (SPEC §9): applications, awards and organisations of their areas, filtered by a GET
 * form (the API's own filters), searched by organisation name, paged by the API's keyset cursors, and
 * downloaded as CSV through the API's streaming CSV writer with its columns. Scope is the services':
 * a lead sees their areas' rows only, whatever the filters say.
 */
export async function leadListRoutes(app: FastifyInstance, { db, pages }: { db: Db; pages: Pages }) {
  const context = async (request: FastifyRequest) => {
    const who = leadOf(request);
    const [areas, streams] = await Promise.all([areasOf(db, who.p), streamsOf(db)]);
    const areaNames = new Map(areas.map((a) => [a.id, a.name]));
    return { ...who, areas, areaNames, streams };
  };
  type Context = Awaited<ReturnType<typeof context>>;

  const commonFields = (c: Context, filters: { areaId?: string; stream?: string }) => ({
    areaItems:
      c.areas.length > 1
        ? selectItems(
            c.t('lead.filters.anyArea'),
            c.areas.map((a) => ({ value: a.id, text: a.name })),
            filters.areaId,
          )
        : null,
    streamItems: selectItems(
      c.t('lead.filters.anyStream'),
      c.streams.streams.map((s) => ({ value: s.slug, text: s.name })),
      filters.stream && c.streams.byId.has(filters.stream)
        ? c.streams.byId.get(filters.stream)?.slug
        : filters.stream,
    ),
  });
  const streamName = (c: Context, id: string) => c.streams.byId.get(id)?.name ?? '';
  /** The orders a list offers: its default first, then others of the API's sort keys. */
  const sortItems = (c: Context, list: string, keys: string[], chosen: string | undefined) =>
    selectItems(
      c.t(`lead.sort.${list}.default`),
      keys.map((key) => ({ value: key, text: c.t(`lead.sort.${list}.${key.replace(/^-/, 'desc_')}`) })),
      chosen,
    );

  /** Filters the form has no field for (a link brought them) are said in words above the list. */
  const hiddenNotes = async (c: Context, filters: { organisationId?: string; updatedSince?: string }) => [
    ...(filters.organisationId
      ? [
          c.t('lead.filters.organisationNote', {
            name: (await getOrganisation(db, c.p, filters.organisationId)).name,
          }),
        ]
      : []),
    ...(filters.updatedSince
      ? [c.t('lead.filters.updatedSinceNote', { date: c.date(filters.updatedSince) })]
      : []),
  ];

  // -------------------------------------------------------------------------------------------------
  // Applications

  app.get('/lead/applications', async (request, reply) => {
    const c = await context(request);
    const filters = parseFilters(applicationFilters, request.query);
    const page = await listApplications(db, c.p, { ...filters, limit: PAGE_SIZE });
    return pages.send(request, reply, 'lead/applications', {
      title: c.t('lead.applications.title'),
      filters,
      ...commonFields(c, filters),
      stateItems: selectItems(
        c.t('lead.filters.anyState'),
        APPLICATION_STATES.map((s) => ({ value: s, text: stateText(c.t, s) })),
        filters.state,
      ),
      kindItems: selectItems(
        c.t('lead.filters.anyKind'),
        (['initial', 'renewal'] as const).map((k) => ({ value: k, text: c.t(`lead.kind.${k}`) })),
        filters.kind,
      ),
      sortItems: sortItems(c, 'applications', ['updatedAt', '-updatedAt', 'organisationName'], filters.sort),
      hidden: hiddenFilters(filters, ['q', 'state', 'stream', 'kind', 'areaId', 'sort']),
      notes: [
        ...(filters.status
          ? [c.t('lead.filters.statusNote', { state: stateText(c.t, filters.status) })]
          : []),
        ...(await hiddenNotes(c, filters)),
      ],
      rows: page.items.map((a) => [
        {
          html: `<a class="govuk-link" href="/lead/applications/${a.id}">${escapeHtml(a.organisationName)}</a>`,
        },
        { text: streamName(c, a.streamId) },
        { text: c.areaNames.get(a.areaId) ?? '' },
        { text: c.t(`lead.kind.${a.kind}`) },
        { text: String(a.round), format: 'numeric' },
        { text: stateText(c.t, a.state) },
        { text: c.date(a.updatedAt) },
      ]),
      pagination: pagination(c.t, '/lead/applications', filters, page.nextCursor),
      csvHref: `/lead/applications.csv${queryOf(filters)}`,
      clearHref: '/lead/applications',
    });
  });

  app.get('/lead/applications.csv', async (request, reply) => {
    const { p } = leadOf(request);
    const filters = parseFilters(applicationFilters, request.query);
    return csv(reply, 'applications.csv', APPLICATION_CSV_COLUMNS, (cursor, limit) =>
      listApplications(db, p, { ...filters, cursor, limit }),
    );
  });

  // -------------------------------------------------------------------------------------------------
  // Awards

  app.get('/lead/awards', async (request, reply) => {
    const c = await context(request);
    const filters = parseFilters(awardFilters, request.query);
    const page = await listAwards(db, c.p, { ...filters, limit: PAGE_SIZE });
    return pages.send(request, reply, 'lead/awards', {
      title: c.t('lead.awards.title'),
      filters,
      ...commonFields(c, filters),
      stateItems: selectItems(
        c.t('lead.filters.anyState'),
        AWARD_STATES.map((s) => ({ value: s, text: awardStateText(c.t, s) })),
        filters.state,
      ),
      currentItems: selectItems(
        c.t('lead.awards.anyCurrent'),
        [
          { value: 'true', text: c.t('lead.awards.currentOnly') },
          { value: 'false', text: c.t('lead.awards.notCurrent') },
        ],
        filters.current,
      ),
      notes: [
        ...(filters.expiringBefore
          ? [c.t('lead.awards.expiringBefore', { date: c.date(filters.expiringBefore) })]
          : []),
        ...(await hiddenNotes(c, filters)),
      ],
      sortItems: sortItems(c, 'awards', ['expiresAt', 'organisationName'], filters.sort),
      hidden: hiddenFilters(filters, ['q', 'state', 'stream', 'current', 'areaId', 'sort']),
      rows: page.items.map((a) => [
        {
          html: `<a class="govuk-link" href="/lead/organisations/${a.organisationId}">${escapeHtml(a.organisationName)}</a>`,
        },
        { text: streamName(c, a.streamId) },
        { text: c.areaNames.get(a.areaId) ?? '' },
        { text: awardStateText(c.t, a.state) },
        { text: c.date(a.awardedAt) },
        { text: c.date(a.expiresAt) },
        {
          html: `<a class="govuk-link" href="/lead/applications/${a.applicationId}">${escapeHtml(c.t('lead.awards.application'))}<span class="govuk-visually-hidden"> ${escapeHtml(a.organisationName)}</span></a>`,
        },
      ]),
      pagination: pagination(c.t, '/lead/awards', filters, page.nextCursor),
      csvHref: `/lead/awards.csv${queryOf(filters)}`,
      clearHref: '/lead/awards',
    });
  });

  app.get('/lead/awards.csv', async (request, reply) => {
    const { p } = leadOf(request);
    const filters = parseFilters(awardFilters, request.query);
    return csv(reply, 'awards.csv', AWARD_CSV_COLUMNS, (cursor, limit) =>
      listAwards(db, p, { ...filters, cursor, limit }),
    );
  });

  // -------------------------------------------------------------------------------------------------
  // Organisations

  app.get('/lead/organisations', async (request, reply) => {
    const c = await context(request);
    const filters = parseFilters(organisationFilters, request.query);
    const page = await listOrganisations(db, c.p, { ...filters, limit: PAGE_SIZE });
    return pages.send(request, reply, 'lead/organisations', {
      title: c.t('lead.organisations.title'),
      filters,
      ...commonFields(c, filters),
      pledgedItems: selectItems(
        c.t('lead.organisations.anyPledge'),
        [
          { value: 'true', text: c.t('lead.organisations.pledged') },
          { value: 'false', text: c.t('lead.organisations.notPledged') },
        ],
        filters.pledged,
      ),
      sortItems: sortItems(c, 'organisations', ['-createdAt'], filters.sort),
      hidden: hiddenFilters(filters, ['q', 'stream', 'pledged', 'areaId', 'sort']),
      notes: await hiddenNotes(c, filters),
      rows: page.items.map((o) => [
        { html: `<a class="govuk-link" href="/lead/organisations/${o.id}">${escapeHtml(o.name)}</a>` },
        { text: streamName(c, o.streamId) },
        { text: c.areaNames.get(o.areaId) ?? '' },
        { text: o.phase ?? '' },
        { text: o.pledge ? c.date(o.pledge.signedAt) : c.t('lead.organisations.noPledge') },
      ]),
      pagination: pagination(c.t, '/lead/organisations', filters, page.nextCursor),
      csvHref: `/lead/organisations.csv${queryOf(filters)}`,
      clearHref: '/lead/organisations',
    });
  });

  app.get('/lead/organisations.csv', async (request, reply) => {
    const { p } = leadOf(request);
    const filters = parseFilters(organisationFilters, request.query);
    return csv(reply, 'organisations.csv', ORGANISATION_CSV_COLUMNS, (cursor, limit) =>
      listOrganisations(db, p, { ...filters, cursor, limit }),
    );
  });
}

/** The whole filtered list, streamed by the API's CSV writer (its columns, its spreadsheet safety). */
function csv<T>(
  reply: FastifyReply,
  filename: string,
  columns: Parameters<typeof sendCsv<T>>[1]['columns'],
  fetchPage: Parameters<typeof sendCsv<T>>[1]['fetchPage'],
) {
  return sendCsv(reply, { filename, columns, fetchPage });
}
