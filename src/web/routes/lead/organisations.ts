import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../../db/index.ts';
import { DomainError } from '../../../domain/errors.ts';
import { createOrganisationBody } from '../../../organisations/routes.ts';
import {
  addMember,
  createOrganisation,
  getOrganisation,
  listMembers,
  updateOrganisation,
} from '../../../organisations/service.ts';
import type { SignIn } from '../../../signin/service.ts';
import { emailAddress } from '../../../users/schemas.ts';
import { field, summary } from '../../forms.ts';
import type { Translate } from '../../i18n.ts';
import type { Pages } from '../../pages.ts';
import { areasOf, fieldProblems, idParam, leadOf, queryOf, selectItems, streamsOf } from './shared.ts';

type Options = { db: Db; pages: Pages; signIn: SignIn };

const ORGANISATION_FIELDS = ['name', 'streamId', 'areaId', 'phase', 'urn', 'website'] as const;
const memberBody = z.strictObject({ email: emailAddress, name: z.string().trim().min(1).max(200) });

/** What the form posted, as typed (kept on the form when it is refused). */
const organisationValues = (body: unknown) =>
  Object.fromEntries(ORGANISATION_FIELDS.map((name) => [name, field(body, name).trim()])) as Record<
    (typeof ORGANISATION_FIELDS)[number],
    string
  >;

/** A service refusal that belongs to one field of the organisation form. */
function organisationServiceProblem(t: Translate, err: unknown) {
  if (!(err instanceof DomainError)) return null;
  if (err.code === 'validation-failed' && /stream/i.test(err.message))
    return { text: t('lead.organisation.errors.streamId'), field: 'streamId' };
  if ((err.code === 'validation-failed' || err.code === 'forbidden') && /area/i.test(err.message))
    return { text: t('lead.organisation.errors.areaId'), field: 'areaId' };
  return null;
}

/**
 * Organisations of the lead's areas (SPEC §9): register one, change it, see its members and invite a
 * member by e-mail. Every change goes through the organisations service that POST/PATCH
 * /organisations and POST /organisations/{id}/members use, so a lead places organisations in their own
 * areas only and an invitation reads the same whether or not the address had an account (SPEC §3).
 */
export async function leadOrganisationRoutes(app: FastifyInstance, { db, pages, signIn }: Options) {
  const formPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    organisation: { id: string; name: string } | null,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, t } = leadOf(request);
    const [areas, streams] = await Promise.all([areasOf(db, p), streamsOf(db)]);
    const values = (extra.values ?? {}) as Record<string, string>;
    return pages.send(
      request,
      reply,
      'lead/organisation-form',
      {
        title: organisation ? t('lead.organisation.editTitle') : t('lead.organisation.createTitle'),
        organisation,
        action: organisation ? `/lead/organisations/${organisation.id}/edit` : '/lead/organisations/new',
        backHref: organisation ? `/lead/organisations/${organisation.id}` : '/lead/organisations',
        // Only an admin moves an organisation to another stream (the service refuses a lead).
        streamEditable: !organisation || p.isAdmin,
        streamName: streams.byId.get(values.streamId ?? '')?.name ?? '',
        streamItems: selectItems(
          t('lead.organisation.chooseStream'),
          streams.streams.map((s) => ({ value: s.id, text: s.name })),
          values.streamId,
        ),
        areaItems:
          areas.length > 1
            ? selectItems(
                t('lead.organisation.chooseArea'),
                areas.map((a) => ({ value: a.id, text: a.name })),
                values.areaId,
              )
            : null,
        onlyArea: areas.length === 1 ? areas[0] : null,
        ...extra,
      },
      status,
    );
  };

  /** Checks the posted organisation as POST /organisations does; the problems are the form's error summary. */
  const checked = (request: FastifyRequest, t: Translate, fixedArea: string | undefined) => {
    const values = organisationValues(request.body);
    if (fixedArea) values.areaId = fixedArea;
    const parsed = createOrganisationBody.safeParse({
      name: values.name,
      streamId: values.streamId,
      areaId: values.areaId,
      ...(values.phase ? { phase: values.phase } : {}),
      ...(values.urn ? { urn: values.urn } : {}),
      ...(values.website ? { website: values.website } : {}),
    });
    return {
      values,
      parsed,
      problems: parsed.success ? [] : fieldProblems(t, 'organisation', parsed.error.issues),
    };
  };

  app.get('/lead/organisations/new', async (request, reply) => formPage(request, reply, null));

  app.post('/lead/organisations/new', async (request, reply) => {
    const { p, t } = leadOf(request);
    const areas = await areasOf(db, p);
    const { values, parsed, problems } = checked(request, t, areas.length === 1 ? areas[0].id : undefined);
    if (!parsed.success) return formPage(request, reply, null, { values, ...summary(problems) }, 400);
    try {
      const org = await createOrganisation(db, p, parsed.data);
      return reply.redirect(`/lead/organisations/${org.id}?done=created`, 303);
    } catch (err) {
      const problem = organisationServiceProblem(t, err);
      if (!problem) throw err;
      return formPage(request, reply, null, { values, ...summary([problem]) }, 400);
    }
  });

  app.get('/lead/organisations/:id', async (request, reply) => {
    const { p } = leadOf(request);
    const org = await getOrganisation(db, p, idParam(request, 'id', 'organisation'));
    return organisationPage(request, reply, org, { done: (request.query as { done?: string }).done });
  });

  const organisationPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    org: Awaited<ReturnType<typeof getOrganisation>>,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, t, date } = leadOf(request);
    const [members, areas, streams] = await Promise.all([
      listMembers(db, p, org.id),
      areasOf(db, p),
      streamsOf(db),
    ]);
    const area = areas.find((a) => a.id === org.areaId);
    const row = (key: string, value: string) => ({ key: { text: t(key) }, value: { text: value } });
    return pages.send(
      request,
      reply,
      'lead/organisation',
      {
        title: org.name,
        org,
        details: [
          row('lead.organisation.stream', streams.byId.get(org.streamId)?.name ?? ''),
          row('lead.organisation.area', area?.name ?? ''),
          row('lead.organisation.phase', org.phase ?? t('lead.organisation.notGiven')),
          row('lead.organisation.urn', org.urn ?? t('lead.organisation.notGiven')),
          row('lead.organisation.website', org.website ?? t('lead.organisation.notGiven')),
          row(
            'lead.organisation.pledge',
            org.pledge
              ? t('lead.organisation.pledgeSigned', {
                  date: date(org.pledge.signedAt),
                  name: org.pledge.signatoryName,
                  role: org.pledge.signatoryRole,
                })
              : t('lead.organisation.noPledge'),
          ),
        ],
        members: members.map((m) => [{ text: m.name }, { text: m.email }]),
        applicationsHref: `/lead/applications${queryOf({ organisationId: org.id })}`,
        awardsHref: `/lead/awards${queryOf({ organisationId: org.id })}`,
        ...extra,
      },
      status,
    );
  };

  app.get('/lead/organisations/:id/edit', async (request, reply) => {
    const { p } = leadOf(request);
    const org = await getOrganisation(db, p, idParam(request, 'id', 'organisation'));
    return formPage(request, reply, org, {
      values: {
        name: org.name,
        streamId: org.streamId,
        areaId: org.areaId,
        phase: org.phase ?? '',
        urn: org.urn ?? '',
        website: org.website ?? '',
      },
    });
  });

  app.post('/lead/organisations/:id/edit', async (request, reply) => {
    const { p, t } = leadOf(request);
    const org = await getOrganisation(db, p, idParam(request, 'id', 'organisation'));
    const areas = await areasOf(db, p);
    const body = { ...(request.body as Record<string, unknown>) };
    // A lead's form shows the stream without a field: it stays what it is.
    if (!p.isAdmin) body.streamId = org.streamId;
    request.body = body;
    const { values, parsed, problems } = checked(request, t, areas.length === 1 ? areas[0].id : undefined);
    if (!parsed.success) return formPage(request, reply, org, { values, ...summary(problems) }, 400);
    try {
      await updateOrganisation(db, p, org.id, {
        name: parsed.data.name,
        areaId: parsed.data.areaId,
        ...(p.isAdmin ? { streamId: parsed.data.streamId } : {}),
        // An emptied field clears it.
        phase: parsed.data.phase ?? null,
        urn: parsed.data.urn ?? null,
        website: parsed.data.website ?? null,
      });
      return reply.redirect(`/lead/organisations/${org.id}?done=saved`, 303);
    } catch (err) {
      const problem = organisationServiceProblem(t, err);
      if (!problem) throw err;
      return formPage(request, reply, org, { values, ...summary([problem]) }, 400);
    }
  });

  app.post('/lead/organisations/:id/members', async (request, reply) => {
    const { p, t } = leadOf(request);
    const org = await getOrganisation(db, p, idParam(request, 'id', 'organisation'));
    const values = { email: field(request.body, 'email').trim(), name: field(request.body, 'name').trim() };
    const parsed = memberBody.safeParse(values);
    if (!parsed.success) {
      const problems = fieldProblems(t, 'member', parsed.error.issues);
      return organisationPage(request, reply, org, { values, ...summary(problems) }, 400);
    }
    const added = await addMember(db, p, org.id, parsed.data, signIn);
    // Someone already within the lead's reach is a member at once; anyone else, known or not, is
    // invited, and the page says the same for both (SPEC §3).
    const done = 'member' in added ? 'added' : 'invited';
    return reply.redirect(`/lead/organisations/${org.id}?done=${done}#members`, 303);
  });
}
