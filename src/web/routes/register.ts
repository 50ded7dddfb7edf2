import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { listAreas } from '../../areas/service.ts';
import { REGISTER_CSV_COLUMNS } from '../../awards/routes.ts';
import { listRegister, registerEntry } from '../../awards/service.ts';
import type { Db } from '../../db/index.ts';
import { notFound, validationFailed } from '../../domain/errors.ts';
import { sendCsv } from '../../http/csv.ts';
import { listStreams } from '../../streams/service.ts';
import { formatDate, translator } from '../i18n.ts';
import { localised } from '../journey.ts';
import type { Pages } from '../pages.ts';

/** Routes of this plugin that share their address with the API: they answer browsers only (see plugin.ts). */
export const FOR_BROWSERS = { constraints: { page: 'html' } };

const PAGE_SIZE = 20;
const NATIONS = ['england', 'wales', 'scotland', 'northern_ireland'] as const;

const filtersQuery = z.object({
  name: z.string().trim().max(200).optional(),
  stream: z.string().trim().max(60).optional(),
  areaId: z.string().trim().optional(),
  nation: z.string().trim().optional(),
  cursor: z.string().max(500).optional(),
  // The cursors of the pages before this one (base64url, so '.' cannot occur in them): "previous" works without state.
  trail: z.string().max(20_000).optional(),
  format: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(100).catch(PAGE_SIZE).default(PAGE_SIZE),
});

/**
 * The public register and the verification page a certificate links to (SPEC §9): no sign-in, the
 * same services as `GET /register` and `GET /register/{awardId}`, at the same addresses (a browser
 * asking for HTML gets the page, a program the JSON).
 */
export async function registerRoutes(app: FastifyInstance, { db, pages }: { db: Db; pages: Pages }) {
  app.get('/register', FOR_BROWSERS, async (request, reply) => {
    const locale = request.visitor?.locale ?? 'en';
    const t = translator(locale);
    const parsed = filtersQuery.safeParse(request.query);
    if (!parsed.success) throw validationFailed('The register’s search could not be read');
    const q = parsed.data;
    // Filters the service cannot match are left out rather than refused: the form offers only valid ones.
    const filters = {
      name: q.name || undefined,
      stream: q.stream || undefined,
      areaId: z.uuid().safeParse(q.areaId).success ? q.areaId : undefined,
      nation: (NATIONS as readonly string[]).includes(q.nation ?? '')
        ? (q.nation as (typeof NATIONS)[number])
        : undefined,
    };
    if (q.format === 'csv')
      return sendCsv(reply, {
        filename: 'sanctuary-awards-register.csv',
        columns: REGISTER_CSV_COLUMNS,
        fetchPage: (cursor, limit) => listRegister(db, { ...filters, cursor, limit }),
      });

    const [page, streams, areas] = await Promise.all([
      listRegister(db, { ...filters, cursor: q.cursor || undefined, limit: q.limit }),
      listStreams(db),
      listAreas(db, { limit: 500 }),
    ]);
    const trail = q.trail ? q.trail.split('.').filter(Boolean) : [];
    const pageSize = q.limit === PAGE_SIZE ? undefined : String(q.limit);
    const href = (extra: Record<string, string | undefined>) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries({ ...filters, limit: pageSize, ...extra }))
        if (value) params.set(key, value);
      const query = params.toString();
      return `/register${query ? `?${query}` : ''}`;
    };
    const date = (iso: string) => formatDate(locale, new Date(iso));
    const option = (value: string, text: string, selected: string | undefined) => ({
      value,
      text,
      selected: value === (selected ?? ''),
    });
    return pages.send(request, reply, 'register/list', {
      title: t('register.title'),
      values: { name: filters.name ?? '' },
      streamItems: [
        option('', t('register.filters.anyStream'), filters.stream),
        ...streams.items.map((s) => option(s.slug, localised(locale, s.name, s.nameCy), filters.stream)),
      ],
      areaItems: [
        option('', t('register.filters.anyArea'), filters.areaId),
        ...areas.items.map((a) => option(a.id, a.name, filters.areaId)),
      ],
      nationItems: [
        option('', t('register.filters.anyNation'), filters.nation),
        ...NATIONS.map((n) => option(n, t(`register.nations.${n}`), filters.nation)),
      ],
      filtered: Object.values(filters).some(Boolean),
      clearHref: '/register',
      csvHref: href({ format: 'csv' }),
      rows: page.items.map((e) => ({
        href: `/register/${e.awardId}`,
        name: e.organisationName,
        stream: e.stream,
        area: e.area,
        nation: t(`register.nations.${e.nation}`),
        awarded: date(e.awardedAt),
        expires: date(e.expiresAt),
      })),
      pagination: {
        previous: q.cursor
          ? {
              href: href({
                cursor: trail.at(-1),
                trail: trail.slice(0, -1).join('.') || undefined,
              }),
              text: t('register.previous'),
            }
          : undefined,
        next: page.nextCursor
          ? {
              href: href({
                cursor: page.nextCursor,
                trail: [...trail, ...(q.cursor ? [q.cursor] : [])].join('.') || undefined,
              }),
              text: t('register.next'),
            }
          : undefined,
      },
      pageNumber: trail.length + (q.cursor ? 2 : 1),
    });
  });

  app.get('/register/:awardId', FOR_BROWSERS, async (request: FastifyRequest, reply) => {
    const locale = request.visitor?.locale ?? 'en';
    const t = translator(locale);
    const awardId = z.uuid().safeParse((request.params as { awardId?: string }).awardId);
    if (!awardId.success) throw notFound('award');
    const entry = await registerEntry(db, awardId.data);
    if (!entry.current)
      return pages.send(request, reply, 'register/verify', { title: t('register.verify.notCurrentTitle') });
    const date = (iso: string) => formatDate(locale, new Date(iso));
    return pages.send(request, reply, 'register/verify', {
      title: t('register.verify.currentTitle'),
      entry,
      rows: [
        { key: { text: t('register.columns.organisation') }, value: { text: entry.organisationName } },
        { key: { text: t('register.columns.stream') }, value: { text: entry.stream } },
        { key: { text: t('register.columns.area') }, value: { text: entry.area } },
        {
          key: { text: t('register.columns.nation') },
          value: { text: t(`register.nations.${entry.nation}`) },
        },
        { key: { text: t('register.columns.awarded') }, value: { text: date(entry.awardedAt) } },
        { key: { text: t('register.columns.expires') }, value: { text: date(entry.expiresAt) } },
      ],
      validUntil: date(entry.expiresAt),
    });
  });
}
