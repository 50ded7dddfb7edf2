import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AreaView } from '../../areas/schemas.ts';
import { createAreaBody } from '../../areas/schemas.ts';
import { changeArea, createArea, getArea, listAreas } from '../../areas/service.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import { DomainError, notFound } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import { getOrganisation } from '../../organisations/service.ts';
import { nationalSummary } from '../../reports/service.ts';
import type { SignIn } from '../../signin/service.ts';
import { publishBody } from '../../streams/schemas.ts';
import {
  type CriteriaProblem,
  getStream,
  listCriteriaSets,
  listStreams,
  previewCriteriaSet,
  publishCriteriaSet,
} from '../../streams/service.ts';
import { createUserBody } from '../../users/schemas.ts';
import { addUser, getUser, listUsers } from '../../users/service.ts';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/outbox.ts';
import { createWebhookBody } from '../../webhooks/schemas.ts';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listDeliveries,
  listSubscriptions,
} from '../../webhooks/service.ts';
import { field, fields, type Problem, summary } from '../forms.ts';
import { formatDate, type Translate, translator } from '../i18n.ts';
import { localised } from '../journey.ts';
import { type Pages, requirePerson } from '../pages.ts';

type Options = { db: Db; config: Config; signIn: SignIn; pages: Pages };

const NATIONS = ['england', 'wales', 'scotland', 'northern_ireland'] as const;
const PROCESSES = ['learn', 'embed', 'share'] as const;
const ROLES = ['admin', 'lead', 'appraiser', 'applicant'] as const;
/** Blank rows offered under a set's criteria on the publishing form (more on request). */
const BLANK_ROWS = 2;
const PAGE_SIZE = 25;

/** A path parameter that is not one of ours names nothing: the page-not-found page. */
const idParam = (request: FastifyRequest, name = 'id'): string => {
  const parsed = z.uuid().safeParse((request.params as Record<string, string | undefined>)[name]);
  if (!parsed.success) throw notFound('page');
  return parsed.data;
};

const query = (request: FastifyRequest, name: string): string => field(request.query, name).trim();

/** The cursors of earlier pages travel in the links (base64url cursors hold no '.'): paging keeps no state. */
function pagination(
  t: Translate,
  base: string,
  filters: Record<string, string | undefined>,
  cursor: string,
  trailParam: string,
  nextCursor: string | null,
) {
  const trail = trailParam ? trailParam.split('.').filter(Boolean) : [];
  const href = (extra: Record<string, string | undefined>) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries({ ...filters, ...extra })) if (value) params.set(key, value);
    const q = params.toString();
    return `${base}${q ? `?${q}` : ''}`;
  };
  return {
    previous: cursor
      ? {
          href: href({ cursor: trail.at(-1), trail: trail.slice(0, -1).join('.') || undefined }),
          text: t('admin.previous'),
        }
      : undefined,
    next: nextCursor
      ? {
          href: href({
            cursor: nextCursor,
            trail: [...trail, ...(cursor ? [cursor] : [])].join('.') || undefined,
          }),
          text: t('admin.next'),
        }
      : undefined,
  };
}

/**
 * The admins' pages (SPEC §9 "Admins"): areas, streams and their criteria-set versions, the national
 * summary, people and their grants, webhooks. Each calls the service its API route calls, as the
 * signed-in admin. Anyone else gets the page-not-found page, as the API hides what is out of scope.
 */
export async function adminRoutes(app: FastifyInstance, { db, config, signIn, pages }: Options) {
  app.addHook('preHandler', async (request) => {
    const person = requirePerson(request);
    if (!person.principal.isAdmin) throw notFound('page');
  });

  const who = (request: FastifyRequest) => {
    const p: Principal = requirePerson(request).principal;
    const locale = request.visitor?.locale ?? 'en';
    return { p, locale, t: translator(locale), date: (d: string | Date) => formatDate(locale, new Date(d)) };
  };
  /** What the page just did, named in its address after a redirect: only the outcomes it knows. */
  const done = (request: FastifyRequest, known: readonly string[]) => {
    const value = query(request, 'done');
    return known.includes(value) ? value : undefined;
  };

  app.get('/admin', async (request, reply) => {
    const { t } = who(request);
    return pages.send(request, reply, 'admin/home', { title: t('admin.home.title') });
  });

  // -------------------------------------------------------------------------------------------------
  // Areas

  const areaTitle = (t: Translate, a: AreaView) => `${a.name} (${t(`register.nations.${a.nation}`)})`;

  app.get('/admin/areas', async (request, reply) => {
    const { t } = who(request);
    const areas = await listAreas(db, { limit: 500 });
    return pages.send(request, reply, 'admin/areas', {
      title: t('admin.areas.title'),
      done: done(request, ['created', 'changed', 'activated', 'deactivated']),
      areas: areas.items.map((a) => ({
        ...a,
        nationText: t(`register.nations.${a.nation}`),
        localAuthoritiesText: a.localAuthorities.join(', '),
      })),
    });
  });

  type AreaValues = {
    name: string;
    nation: string;
    region: string;
    localAuthorities: string;
    leadOrganisation: string;
    active: string;
  };
  const areaValuesOf = (body: unknown): AreaValues => ({
    name: field(body, 'name').trim(),
    nation: field(body, 'nation'),
    region: field(body, 'region').trim(),
    localAuthorities: field(body, 'localAuthorities'),
    leadOrganisation: field(body, 'leadOrganisation').trim(),
    active: field(body, 'active'),
  });
  const areaValuesFrom = (a: AreaView): AreaValues => ({
    name: a.name,
    nation: a.nation,
    region: a.region ?? '',
    localAuthorities: a.localAuthorities.join('\n'),
    leadOrganisation: a.leadOrganisation ?? '',
    active: a.active ? 'true' : 'false',
  });
  const areaFormPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    area: AreaView | null,
    values: AreaValues,
    problems: Problem[] = [],
  ) => {
    const { t } = who(request);
    return pages.send(
      request,
      reply,
      'admin/area-form',
      {
        title: area ? t('admin.areas.editTitle', { name: area.name }) : t('admin.areas.newTitle'),
        action: area ? `/admin/areas/${area.id}` : '/admin/areas/new',
        values,
        nationItems: NATIONS.map((n) => ({
          value: n,
          text: t(`register.nations.${n}`),
          checked: values.nation === n,
        })),
        activeItems: [
          { value: 'true', text: t('admin.areas.activeYes'), checked: values.active === 'true' },
          { value: 'false', text: t('admin.areas.activeNo'), checked: values.active === 'false' },
        ],
        ...summary(problems),
      },
      problems.length ? 400 : 200,
    );
  };

  /** The form's values as the API's body, or what is wrong with them, field by field. */
  const parseArea = (t: Translate, v: AreaValues) => {
    const parsed = createAreaBody.safeParse({
      name: v.name,
      nation: v.nation || undefined,
      region: v.region || null,
      localAuthorities: v.localAuthorities
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean),
      leadOrganisation: v.leadOrganisation || null,
      active: v.active === 'true' ? true : v.active === 'false' ? false : undefined,
    });
    if (parsed.success) return { input: parsed.data, problems: [] };
    const seen = new Set<string>();
    const problems = parsed.error.issues.flatMap((issue) => {
      const key = String(issue.path[0] ?? 'name');
      if (seen.has(key)) return [];
      seen.add(key);
      return [{ text: t(`admin.areas.errors.${key}`), field: key === 'nation' ? 'nation' : key }];
    });
    return { input: null, problems };
  };

  const saveArea = async (request: FastifyRequest, reply: FastifyReply, area: AreaView | null) => {
    const { p, t } = who(request);
    const values = areaValuesOf(request.body);
    const { input, problems } = parseArea(t, values);
    if (!input) return areaFormPage(request, reply, area, values, problems);
    try {
      const saved = area ? await changeArea(db, p, area.id, input) : await createArea(db, p, input);
      return reply.redirect(`/admin/areas?done=${area ? 'changed' : 'created'}#area-${saved.id}`, 303);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'conflict')
        return areaFormPage(request, reply, area, values, [
          { text: t('admin.areas.errors.taken', { name: values.name }), field: 'name' },
        ]);
      throw err;
    }
  };

  app.get('/admin/areas/new', (request, reply) =>
    areaFormPage(request, reply, null, {
      name: '',
      nation: '',
      region: '',
      localAuthorities: '',
      leadOrganisation: '',
      active: 'true',
    }),
  );
  app.post('/admin/areas/new', (request, reply) => saveArea(request, reply, null));

  app.get('/admin/areas/:id', async (request, reply) => {
    const area = await getArea(db, idParam(request));
    return areaFormPage(request, reply, area, areaValuesFrom(area));
  });
  app.post('/admin/areas/:id', async (request, reply) =>
    saveArea(request, reply, await getArea(db, idParam(request))),
  );

  app.post('/admin/areas/:id/active', async (request, reply) => {
    const { p } = who(request);
    const active = field(request.body, 'active') === 'true';
    const area = await changeArea(db, p, idParam(request), { active });
    return reply.redirect(`/admin/areas?done=${active ? 'activated' : 'deactivated'}#area-${area.id}`, 303);
  });

  // -------------------------------------------------------------------------------------------------
  // Streams and criteria-set versions

  app.get('/admin/streams', async (request, reply) => {
    const { t, date, locale } = who(request);
    const streams = await listStreams(db);
    return pages.send(request, reply, 'admin/streams', {
      title: t('admin.streams.title'),
      streams: streams.items.map((s) => ({
        id: s.id,
        name: localised(locale, s.name, s.nameCy),
        version: s.criteriaSet.version,
        count: s.criteriaSet.criteria.length,
        published: date(s.criteriaSet.publishedAt),
      })),
    });
  });

  app.get('/admin/streams/:id', async (request, reply) => {
    const { t, date, locale } = who(request);
    const id = idParam(request);
    const [stream, versions] = await Promise.all([getStream(db, id), listCriteriaSets(db, id)]);
    return pages.send(request, reply, 'admin/stream', {
      title: localised(locale, stream.name, stream.nameCy),
      publishedVersion: /^published-(\d{1,9})$/.exec(query(request, 'done'))?.[1],
      stream,
      criteria: stream.criteriaSet.criteria.map((c) => ({
        ...c,
        processText: t(`admin.criteria.process.${c.process}`),
      })),
      published: date(stream.criteriaSet.publishedAt),
      versions: versions
        .sort((a, b) => b.version - a.version)
        .map((v) => ({
          version: v.version,
          published: date(v.publishedAt),
          note: v.note ?? '',
          count: v.criteria.length,
          current: v.version === stream.criteriaSet.version,
        })),
    });
  });

  type CriterionRow = { code: string; process: string; title: string; titleCy: string };
  const rowsOf = (body: unknown): CriterionRow[] => {
    const codes = fields(body, 'code');
    const processes = fields(body, 'process');
    const titles = fields(body, 'title');
    const welsh = fields(body, 'titleCy');
    const count = Math.max(codes.length, processes.length, titles.length, welsh.length);
    return Array.from({ length: count }, (_, i) => ({
      code: (codes[i] ?? '').trim().toUpperCase(),
      process: processes[i] ?? '',
      title: (titles[i] ?? '').trim(),
      titleCy: (welsh[i] ?? '').trim(),
    }));
  };
  const blank = (): CriterionRow => ({ code: '', process: '', title: '', titleCy: '' });
  /** A row as the service takes it: no Welsh wording is no `titleCy`. */
  const toCriterion = ({ titleCy, ...c }: CriterionRow) => (titleCy ? { ...c, titleCy } : c);

  const criteriaFormPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    rows: CriterionRow[],
    note: string,
    problems: Problem[] = [],
  ) => {
    const { t } = who(request);
    const stream = await getStream(db, idParam(request));
    return pages.send(
      request,
      reply,
      'admin/criteria-form',
      {
        title: t('admin.criteria.formTitle', { name: stream.name }),
        stream,
        nextVersion: stream.criteriaSet.version + 1,
        note,
        rows: rows.map((row, i) => ({
          ...row,
          index: i,
          number: i + 1,
          processItems: [
            { value: '', text: t('admin.criteria.chooseProcess'), selected: row.process === '' },
            ...PROCESSES.map((proc) => ({
              value: proc,
              text: t(`admin.criteria.process.${proc}`),
              selected: row.process === proc,
            })),
          ],
        })),
        ...summary(problems),
      },
      problems.length ? 400 : 200,
    );
  };

  app.get('/admin/streams/:id/publish', async (request, reply) => {
    const stream = await getStream(db, idParam(request));
    const rows = [
      ...stream.criteriaSet.criteria.map((c) => ({ ...c, titleCy: c.titleCy ?? '' })),
      ...Array.from({ length: BLANK_ROWS }, blank),
    ];
    return criteriaFormPage(request, reply, rows, '');
  });

  const problemText = (t: Translate, problem: CriteriaProblem): Problem =>
    problem.kind === 'duplicate-code'
      ? { text: t('admin.criteria.errors.duplicate', { code: problem.code }), field: `code-${problem.index}` }
      : {
          text: t('admin.criteria.errors.missingProcess', {
            processes: problem.processes.map((proc) => t(`admin.criteria.process.${proc}`)).join(', '),
          }),
        };

  /**
   * The form's three steps share one address: `edit` (more rows, or back from the preview), `preview`
   * (what changes against the current version) and `publish`. The preview names the version it was
   * made against, so a version published meanwhile by someone else shows the preview again against it.
   */
  app.post('/admin/streams/:id/publish', async (request, reply) => {
    const { p, t } = who(request);
    const streamId = idParam(request);
    const step = field(request.body, 'step');
    const note = field(request.body, 'note').trim();
    const rows = rowsOf(request.body);
    // A row is cleared by clearing its code and English wording (its Welsh alone names no criterion).
    const filled = rows.filter((r) => r.code || r.process || r.title);
    if (step === 'edit' || step === 'more')
      return criteriaFormPage(
        request,
        reply,
        [...filled, ...Array.from({ length: step === 'more' ? 3 : BLANK_ROWS }, blank)],
        note,
      );

    const parsed = publishBody.safeParse({ criteria: filled.map(toCriterion), ...(note ? { note } : {}) });
    if (!parsed.success) {
      const seen = new Set<string>();
      const problems = parsed.error.issues.flatMap((issue): Problem[] => {
        const [top, index, key] = issue.path;
        const id = top === 'criteria' && typeof index === 'number' && key ? `${String(key)}-${index}` : '';
        const dedupe = id || String(top);
        if (seen.has(dedupe)) return [];
        seen.add(dedupe);
        if (id && typeof index === 'number')
          return [{ text: t(`admin.criteria.errors.${String(key)}`, { number: index + 1 }), field: id }];
        if (top === 'note') return [{ text: t('admin.criteria.errors.note'), field: 'note' }];
        return [{ text: t('admin.criteria.errors.count') }];
      });
      return criteriaFormPage(request, reply, [...filled, blank()], note, problems);
    }
    const preview = await previewCriteriaSet(db, p, streamId, parsed.data);
    if (preview.problems.length)
      return criteriaFormPage(
        request,
        reply,
        [...filled, blank()],
        note,
        preview.problems.map((problem) => problemText(t, problem)),
      );

    const basedOn = Number(field(request.body, 'basedOn'));
    if (step === 'publish' && basedOn === preview.stream.criteriaSet.version) {
      const published = await publishCriteriaSet(db, p, streamId, parsed.data);
      return reply.redirect(`/admin/streams/${streamId}?done=published-${published.version}`, 303);
    }
    const changes = preview.changes;
    const processText = (proc: string) => t(`admin.criteria.process.${proc}`);
    return pages.send(request, reply, 'admin/criteria-preview', {
      title: t('admin.criteria.previewTitle', { name: preview.stream.name, version: preview.nextVersion }),
      stream: preview.stream,
      nextVersion: preview.nextVersion,
      basedOn: preview.stream.criteriaSet.version,
      stale: step === 'publish',
      note,
      criteria: parsed.data.criteria,
      added: changes.added.map((c) => ({ ...c, processText: processText(c.process) })),
      removed: changes.removed.map((c) => ({ ...c, processText: processText(c.process) })),
      reworded: changes.reworded.map((c) => ({
        code: c.code,
        before: { ...c.before, processText: processText(c.before.process) },
        after: { ...c.after, processText: processText(c.after.process) },
        processChanged: c.before.process !== c.after.process,
      })),
      unchanged: changes.unchanged,
      nothingChanged: !changes.added.length && !changes.removed.length && !changes.reworded.length,
    });
  });

  // -------------------------------------------------------------------------------------------------
  // The national summary

  app.get('/admin/summary', async (request, reply) => {
    const { p, t, locale } = who(request);
    const report = await nationalSummary(db, p, config);
    return pages.send(request, reply, 'admin/summary', {
      title: t('admin.summary.title'),
      report,
      generated: formatDate(locale, new Date(report.generatedAt), true),
      areas: report.areas.map((a) => ({ ...a, nationText: t(`register.nations.${a.nation}`) })),
    });
  });

  // -------------------------------------------------------------------------------------------------
  // People and their grants

  const areaNames = async () =>
    new Map((await listAreas(db, { limit: 500 })).items.map((a) => [a.id, a.name]));

  app.get('/admin/people', async (request, reply) => {
    const { p, t } = who(request);
    const email = query(request, 'email');
    const roleParam = query(request, 'role');
    const role = (ROLES as readonly string[]).includes(roleParam)
      ? (roleParam as (typeof ROLES)[number])
      : undefined;
    const cursor = query(request, 'cursor');
    const [page, areas] = await Promise.all([
      listUsers(db, p, { email: email || undefined, role, limit: PAGE_SIZE, cursor: cursor || undefined }),
      areaNames(),
    ]);
    return pages.send(request, reply, 'admin/people', {
      title: t('admin.people.title'),
      values: { email, role: role ?? '' },
      roleItems: [
        { value: '', text: t('admin.people.anyRole'), selected: !role },
        ...ROLES.map((r) => ({ value: r, text: t(`admin.people.roles.${r}`), selected: role === r })),
      ],
      filtered: Boolean(email || role),
      people: page.items.map((u) => ({
        id: u.id,
        name: u.name,
        email: u.email,
        grants: u.grants
          .map((g) =>
            g.role === 'lead'
              ? t('admin.people.leadOf', { area: areas.get(g.areaId ?? '') ?? '' })
              : t(`admin.people.roles.${g.role}`),
          )
          .filter((text, i, all) => all.indexOf(text) === i)
          .join(', '),
      })),
      pagination: pagination(
        t,
        '/admin/people',
        { email: email || undefined, role },
        cursor,
        query(request, 'trail'),
        page.nextCursor,
      ),
    });
  });

  app.get('/admin/people/:id', async (request, reply) => {
    const { p, t } = who(request);
    const user = await getUser(db, p, idParam(request));
    const areas = await areaNames();
    const organisationName = async (id: string) => (await getOrganisation(db, p, id)).name;
    const grants = await Promise.all(
      user.grants.map(async (g) => ({
        role: t(`admin.people.roles.${g.role}`),
        scope: g.areaId
          ? (areas.get(g.areaId) ?? '')
          : g.organisationId
            ? await organisationName(g.organisationId)
            : t('admin.people.everywhere'),
      })),
    );
    const profile = user.appraiserProfile;
    return pages.send(request, reply, 'admin/person', {
      title: user.name,
      done: done(request, ['invited']),
      user,
      grants,
      profile: profile
        ? [
            {
              key: { text: t('admin.people.livedExperience') },
              value: { text: t(profile.livedExperience ? 'admin.yes' : 'admin.no') },
            },
            {
              key: { text: t('admin.people.localGroup') },
              value: { text: t(profile.localGroup ? 'admin.yes' : 'admin.no') },
            },
            {
              key: { text: t('admin.people.cosStaff') },
              value: { text: t(profile.cosStaff ? 'admin.yes' : 'admin.no') },
            },
            {
              key: { text: t('admin.people.homeArea') },
              value: {
                text: profile.homeAreaId
                  ? (areas.get(profile.homeAreaId) ?? '')
                  : t('admin.people.nationalPool'),
              },
            },
          ]
        : null,
    });
  });

  type PersonValues = {
    name: string;
    email: string;
    roles: string[];
    leadAreaId: string;
    homeAreaId: string;
    profile: string[];
  };
  const personFormPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    values: PersonValues,
    problems: Problem[] = [],
  ) => {
    const { t } = who(request);
    const areas = (await listAreas(db, { limit: 500 })).items;
    const areaItems = (selected: string, none: string) => [
      { value: '', text: none, selected: selected === '' },
      ...areas.map((a) => ({ value: a.id, text: areaTitle(t, a), selected: selected === a.id })),
    ];
    return pages.send(
      request,
      reply,
      'admin/person-form',
      {
        title: t('admin.people.newTitle'),
        values,
        roles: values.roles,
        leadAreaItems: areaItems(values.leadAreaId, t('admin.people.chooseArea')),
        homeAreaItems: areaItems(values.homeAreaId, t('admin.people.nationalPool')),
        profileItems: (['livedExperience', 'localGroup', 'cosStaff'] as const).map((key) => ({
          value: key,
          text: t(`admin.people.${key}`),
          checked: values.profile.includes(key),
        })),
        ...summary(problems),
      },
      problems.length ? 400 : 200,
    );
  };

  app.get('/admin/people/new', (request, reply) =>
    personFormPage(request, reply, {
      name: '',
      email: '',
      roles: [],
      leadAreaId: '',
      homeAreaId: '',
      profile: [],
    }),
  );

  app.post('/admin/people/new', async (request, reply) => {
    const { p, t } = who(request);
    const body = request.body;
    const values: PersonValues = {
      name: field(body, 'name').trim(),
      email: field(body, 'email').trim(),
      roles: fields(body, 'roles').filter((r) => r === 'admin' || r === 'lead' || r === 'appraiser'),
      leadAreaId: field(body, 'leadAreaId'),
      homeAreaId: field(body, 'homeAreaId'),
      profile: fields(body, 'profile'),
    };
    const problems: Problem[] = [];
    if (values.roles.includes('lead') && !z.uuid().safeParse(values.leadAreaId).success)
      problems.push({ text: t('admin.people.errors.leadArea'), field: 'leadAreaId' });
    const isAppraiser = values.roles.includes('appraiser');
    const parsed = createUserBody.safeParse({
      name: values.name,
      email: values.email,
      grants: values.roles.map((role) => (role === 'lead' ? { role, areaId: values.leadAreaId } : { role })),
      ...(isAppraiser
        ? {
            appraiserProfile: {
              livedExperience: values.profile.includes('livedExperience'),
              localGroup: values.profile.includes('localGroup'),
              cosStaff: values.profile.includes('cosStaff'),
              homeAreaId: values.homeAreaId || null,
            },
          }
        : {}),
    });
    if (!parsed.success)
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0]);
        if (key === 'name' || key === 'email')
          problems.unshift({ text: t(`admin.people.errors.${key}`), field: key });
      }
    if (problems.length || !parsed.success) return personFormPage(request, reply, values, problems);
    try {
      const added = await addUser(db, p, parsed.data, signIn);
      const id = 'user' in added ? added.user.id : '';
      return reply.redirect(`/admin/people/${id}?done=invited`, 303);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'conflict')
        return personFormPage(request, reply, values, [
          { text: t('admin.people.errors.taken'), field: 'email' },
        ]);
      throw err;
    }
  });

  // -------------------------------------------------------------------------------------------------
  // Webhooks

  app.get('/admin/webhooks', async (request, reply) => {
    const { p, t, date } = who(request);
    const cursor = query(request, 'cursor');
    const [page, areas] = await Promise.all([
      listSubscriptions(db, p, { limit: PAGE_SIZE, cursor: cursor || undefined }),
      areaNames(),
    ]);
    return pages.send(request, reply, 'admin/webhooks', {
      title: t('admin.webhooks.title'),
      done: done(request, ['deleted']),
      webhooks: page.items.map((s) => ({
        ...s,
        area: s.areaId ? (areas.get(s.areaId) ?? '') : t('admin.webhooks.everyArea'),
        events: s.eventTypes.join(', '),
        created: date(s.createdAt),
      })),
      pagination: pagination(t, '/admin/webhooks', {}, cursor, query(request, 'trail'), page.nextCursor),
    });
  });

  type WebhookValues = { url: string; eventTypes: string[]; areaId: string; description: string };
  const webhookFormPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    values: WebhookValues,
    problems: Problem[] = [],
  ) => {
    const { t } = who(request);
    const areas = (await listAreas(db, { limit: 500 })).items;
    return pages.send(
      request,
      reply,
      'admin/webhook-form',
      {
        title: t('admin.webhooks.newTitle'),
        values,
        eventItems: ['*', ...WEBHOOK_EVENT_TYPES].map((type) => ({
          value: type,
          text: type === '*' ? t('admin.webhooks.allEvents') : type,
          checked: values.eventTypes.includes(type),
        })),
        areaItems: [
          { value: '', text: t('admin.webhooks.everyArea'), selected: values.areaId === '' },
          ...areas.map((a) => ({ value: a.id, text: areaTitle(t, a), selected: values.areaId === a.id })),
        ],
        ...summary(problems),
      },
      problems.length ? 400 : 200,
    );
  };

  app.get('/admin/webhooks/new', (request, reply) =>
    webhookFormPage(request, reply, { url: '', eventTypes: [], areaId: '', description: '' }),
  );

  app.post('/admin/webhooks/new', async (request, reply) => {
    const { p, t } = who(request);
    const values: WebhookValues = {
      url: field(request.body, 'url').trim(),
      eventTypes: fields(request.body, 'eventTypes'),
      areaId: field(request.body, 'areaId'),
      description: field(request.body, 'description').trim(),
    };
    const parsed = createWebhookBody.safeParse({
      url: values.url,
      eventTypes: values.eventTypes,
      areaId: values.areaId || null,
      ...(values.description ? { description: values.description } : {}),
    });
    const fieldOf = (key: string) => (key === 'eventTypes' ? 'eventTypes' : key);
    if (!parsed.success) {
      const keys = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
      return webhookFormPage(
        request,
        reply,
        values,
        keys.map((key) => ({ text: t(`admin.webhooks.errors.${key}`), field: fieldOf(key) })),
      );
    }
    try {
      const created = await createSubscription(db, p, parsed.data, config.webhooks);
      return pages.send(request, reply, 'admin/webhook-created', {
        title: t('admin.webhooks.createdTitle'),
        created,
      });
    } catch (err) {
      // The address policy refuses private and unresolvable targets: said on the field.
      if (err instanceof DomainError && err.code === 'validation-failed')
        return webhookFormPage(request, reply, values, [
          { text: t('admin.webhooks.errors.refused'), field: 'url' },
        ]);
      throw err;
    }
  });

  app.get('/admin/webhooks/:id', async (request, reply) => {
    const { p, t, date, locale } = who(request);
    const id = idParam(request);
    const [subscription, deliveries, areas] = await Promise.all([
      getSubscription(db, p, id),
      listDeliveries(db, p, id, { limit: PAGE_SIZE, cursor: query(request, 'cursor') || undefined }),
      areaNames(),
    ]);
    return pages.send(request, reply, 'admin/webhook', {
      title: t('admin.webhooks.oneTitle'),
      subscription,
      area: subscription.areaId ? (areas.get(subscription.areaId) ?? '') : t('admin.webhooks.everyArea'),
      created: date(subscription.createdAt),
      deliveries: deliveries.items.map((d) => ({
        ...d,
        statusText: t(`admin.webhooks.status.${d.status}`),
        created: formatDate(locale, new Date(d.createdAt), true),
      })),
      pagination: pagination(
        t,
        `/admin/webhooks/${id}`,
        {},
        query(request, 'cursor'),
        query(request, 'trail'),
        deliveries.nextCursor,
      ),
    });
  });

  app.post('/admin/webhooks/:id/delete', async (request, reply) => {
    const { p } = who(request);
    await deleteSubscription(db, p, idParam(request));
    return reply.redirect('/admin/webhooks?done=deleted', 303);
  });
}
