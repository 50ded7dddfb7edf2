import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../../db/index.ts';
import { DomainError } from '../../../domain/errors.ts';
import { listOrganisations } from '../../../organisations/service.ts';
import type { SignIn } from '../../../signin/service.ts';
import { createUserBody } from '../../../users/schemas.ts';
import { addUser, listUsers } from '../../../users/service.ts';
import { field, summary } from '../../forms.ts';
import type { Pages } from '../../pages.ts';
import {
  areasOf,
  fieldProblems,
  leadOf,
  PAGE_SIZE,
  pagination,
  paging,
  parseFilters,
  selectItems,
} from './shared.ts';

type Options = { db: Db; pages: Pages; signIn: SignIn };

const ROLES = ['appraiser', 'applicant', 'lead', 'admin'] as const;
const peopleFilters = z.strictObject({
  role: z.enum(ROLES).optional(),
  email: z.string().max(254).optional(),
  done: z.enum(['invited', 'added']).optional(),
  ...paging,
});
const inviteRole = z.enum(['appraiser', 'applicant']);
/** A select of the lead's organisations to invite a member of: the first ones by name. */
const ORGANISATION_CHOICES = 500;

/**
 * People within the lead's reach (SPEC §3, §9): the list of GET /users, and inviting an appraiser (with
 * their profile) or an applicant through the service of POST /users, so a lead offers only what the
 * API lets them offer, and an invitation reads the same whether or not the address had an account.
 */
export async function leadPeopleRoutes(app: FastifyInstance, { db, pages, signIn }: Options) {
  app.get('/lead/people', async (request, reply) => {
    const { p, t } = leadOf(request);
    const filters = parseFilters(peopleFilters, request.query);
    const { done, ...query } = filters;
    const [page, areas] = await Promise.all([
      listUsers(db, p, { ...query, limit: PAGE_SIZE }),
      areasOf(db, p),
    ]);
    const areaNames = new Map(areas.map((a) => [a.id, a.name]));
    const yesNo = (value: boolean | undefined) => (value ? t('lead.people.yes') : t('lead.people.no'));
    return pages.send(request, reply, 'lead/people', {
      title: t('lead.people.title'),
      filters,
      done,
      roleItems: selectItems(
        t('lead.people.anyRole'),
        ROLES.map((r) => ({ value: r, text: t(`lead.people.role.${r}`) })),
        filters.role,
      ),
      rows: page.items.map((u) => [
        { text: u.name },
        { text: u.email },
        { text: [...new Set(u.grants.map((g) => t(`lead.people.role.${g.role}`)))].join(', ') },
        {
          text: u.appraiserProfile
            ? [
                `${t('lead.people.lived')}: ${yesNo(u.appraiserProfile.livedExperience)}`,
                `${t('lead.people.localGroup')}: ${yesNo(u.appraiserProfile.localGroup)}`,
                `${t('lead.people.cosStaff')}: ${yesNo(u.appraiserProfile.cosStaff)}`,
                `${t('lead.people.homeArea')}: ${
                  u.appraiserProfile.homeAreaId
                    ? (areaNames.get(u.appraiserProfile.homeAreaId) ?? '')
                    : t('lead.people.nationalPool')
                }`,
              ].join('; ')
            : '',
        },
      ]),
      pagination: pagination(t, '/lead/people', query, page.nextCursor),
    });
  });

  const invitePage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    role: z.infer<typeof inviteRole>,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const { p, t } = leadOf(request);
    const values = (extra.values ?? {}) as Record<string, string>;
    const areas = await areasOf(db, p);
    const organisations =
      role === 'applicant'
        ? (await listOrganisations(db, p, { limit: ORGANISATION_CHOICES })).items.map((o) => ({
            value: o.id,
            text: o.name,
          }))
        : [];
    return pages.send(
      request,
      reply,
      'lead/invite',
      {
        title: t(`lead.invite.title.${role}`),
        role,
        organisationItems: selectItems(
          t('lead.invite.chooseOrganisation'),
          organisations,
          values.organisationId,
        ),
        // An admin may leave an appraiser in the national pool; a lead's appraiser belongs to one of their areas.
        homeAreaItems: p.isAdmin
          ? selectItems(
              t('lead.people.nationalPool'),
              areas.map((a) => ({ value: a.id, text: a.name })),
              values.homeAreaId,
            )
          : areas.length > 1
            ? areas.map((a) => ({ value: a.id, text: a.name, selected: a.id === values.homeAreaId }))
            : null,
        ...extra,
      },
      status,
    );
  };

  app.get('/lead/people/invite', async (request, reply) => {
    const role = inviteRole.safeParse((request.query as { role?: string }).role);
    return invitePage(request, reply, role.success ? role.data : 'appraiser');
  });

  app.post('/lead/people/invite', async (request, reply) => {
    const { p, t } = leadOf(request);
    const body = request.body;
    const role = inviteRole.safeParse(field(body, 'role'));
    if (!role.success) return reply.redirect('/lead/people/invite', 303);
    const values = Object.fromEntries(
      ['email', 'name', 'organisationId', 'livedExperience', 'localGroup', 'cosStaff', 'homeAreaId'].map(
        (name) => [name, field(body, name).trim()],
      ),
    );
    const input =
      role.data === 'appraiser'
        ? {
            email: values.email,
            name: values.name,
            grants: [{ role: 'appraiser' }],
            appraiserProfile: {
              // Unanswered is left for the schema to refuse, so the person is asked.
              livedExperience:
                values.livedExperience === 'yes' ? true : values.livedExperience === 'no' ? false : undefined,
              localGroup: values.localGroup === 'yes',
              cosStaff: values.cosStaff === 'yes',
              ...(values.homeAreaId ? { homeAreaId: values.homeAreaId } : {}),
            },
          }
        : {
            email: values.email,
            name: values.name,
            grants: [{ role: 'applicant', organisationId: values.organisationId }],
          };
    const parsed = createUserBody.safeParse(input);
    if (!parsed.success) {
      // An issue inside the grants or the profile belongs to the field that fed it.
      const issues = parsed.error.issues.map((i) => ({
        ...i,
        path:
          i.path[0] === 'grants'
            ? ['organisationId']
            : i.path[0] === 'appraiserProfile'
              ? [i.path[1] ?? 'livedExperience']
              : i.path,
      }));
      return invitePage(
        request,
        reply,
        role.data,
        { values, ...summary(fieldProblems(t, 'invite', issues)) },
        400,
      );
    }
    try {
      const added = await addUser(db, p, parsed.data, signIn);
      return reply.redirect(`/lead/people?done=${'user' in added ? 'added' : 'invited'}`, 303);
    } catch (err) {
      const problem = inviteServiceProblem(err);
      if (!problem) throw err;
      return invitePage(
        request,
        reply,
        role.data,
        { values, ...summary([{ text: t(`lead.invite.errors.${problem.key}`), field: problem.field }]) },
        400,
      );
    }
  });
}

/** The field a refusal of the users service belongs to, if any. */
function inviteServiceProblem(err: unknown): { field: string; key: string } | null {
  if (!(err instanceof DomainError)) return null;
  // Someone already within the lead's reach (whom they can see anyway) is not invited again.
  if (err.code === 'conflict') return { field: 'email', key: 'known' };
  if (err.code !== 'validation-failed' && err.code !== 'forbidden') return null;
  if (/organisation/i.test(err.message)) return { field: 'organisationId', key: 'organisationId' };
  if (/area/i.test(err.message)) return { field: 'homeAreaId', key: 'homeAreaId' };
  return null;
}
