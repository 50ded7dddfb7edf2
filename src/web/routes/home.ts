import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { homeFor } from '../../applications/journey.ts';
import type { Db } from '../../db/index.ts';
import { DomainError } from '../../domain/errors.ts';
import { acceptInvitation, declineInvitation, listOwnInvitations } from '../../users/invitations.ts';
import { param, uuid } from '../forms.ts';
import { formatDate, translator } from '../i18n.ts';
import { localised, nextStep, statusText } from '../journey.ts';
import { type Pages, requirePerson } from '../pages.ts';

/** The people's home page, and the pages every service owes them (accessibility, privacy). */
export async function homeRoutes(app: FastifyInstance, { db, pages }: { db: Db; pages: Pages }) {
  const homePage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const visitor = request.visitor;
    if (!visitor?.person) return pages.send(request, reply, 'home');
    const p = visitor.person.principal;
    const [home, invitations] = await Promise.all([homeFor(db, p), listOwnInvitations(db, p)]);
    const locale = visitor.locale;
    const t = translator(locale);
    const date = (d: Date) => formatDate(locale, d);
    const roles = [
      ...(home.isAdmin ? [t('home.roles.admin')] : []),
      ...(home.leadAreas.length ? [t('home.roles.lead', { areas: home.leadAreas.join(', ') })] : []),
      ...(home.isAppraiser ? [t('home.roles.appraiser')] : []),
      ...(home.organisations.length ? [t('home.roles.applicant')] : []),
    ];
    return pages.send(
      request,
      reply,
      'home',
      {
        done: (request.query as { done?: string }).done,
        invitations: invitations
          .filter((i) => i.status === 'pending')
          .map((i) => ({
            id: i.id,
            from: i.invitedBy
              ? t('home.invitations.from', { name: i.invitedBy.name })
              : t('home.invitations.fromSomeone'),
            offers: i.grants.map((g) =>
              g.role === 'applicant'
                ? t('home.invitations.join', { organisation: g.organisationName })
                : t('home.invitations.appraiser'),
            ),
            until: t('home.invitations.until', { date: date(new Date(i.expiresAt)) }),
          })),
        home: {
          roles,
          organisations: home.organisations.map((o) => {
            const award = o.award;
            // Where things stand: the open application, else the last one (its decision, say).
            const [last, ...earlier] = o.ended;
            const shown = o.open ?? (last ? { ...last, status: last.state } : null);
            return {
              id: o.id,
              name: o.name,
              stream: localised(locale, o.stream, o.streamCy),
              area: o.area,
              pledge: o.pledge
                ? t('home.organisations.pledgeSigned', {
                    date: date(o.pledge.signedAt),
                    name: o.pledge.signatoryName,
                  })
                : null,
              pledgeHref: `/apply/organisations/${o.id}/pledge`,
              application: shown
                ? {
                    text: `${t(`apply.kind.${shown.kind}`)}: ${statusText(t, shown.state)}`,
                    next: nextStep(t, shown.id, shown.status),
                  }
                : null,
              ended: (o.open ? o.ended : earlier).map((a) => ({
                text: `${t(`apply.kind.${a.kind}`)}: ${statusText(t, a.state)} (${date(a.updatedAt)})`,
                href: `/apply/${a.id}`,
              })),
              award: award
                ? {
                    text: t('home.organisations.awardCurrent', {
                      awarded: date(award.awardedAt),
                      expires: date(award.expiresAt),
                    }),
                    renewalDue: award.state === 'renewalDue',
                    certificateHref: `/apply/awards/${award.id}/certificate`,
                  }
                : null,
              // What a member may start: an initial application, or a renewal of a current award.
              start: o.open ? null : award ? 'renewal' : 'initial',
            };
          }),
        },
        ...extra,
      },
      status,
    );
  };

  app.get('/', (request, reply) => homePage(request, reply));

  // Invitations a lead sent the person (SPEC §3): accepted or declined here, after signing in.
  for (const answer of ['accept', 'decline'] as const) {
    app.post(`/invitations/:id/${answer}`, async (request, reply) => {
      const p = requirePerson(request).principal;
      const id = param(uuid, (request.params as { id?: string }).id, 'invitation');
      try {
        await (answer === 'accept' ? acceptInvitation : declineInvitation)(db, p, id);
      } catch (err) {
        // Expired, declined meanwhile, or no longer offered: say so on the home page.
        if (err instanceof DomainError && err.code === 'conflict') {
          const t = translator(request.visitor?.locale ?? 'en');
          return homePage(request, reply, { errors: [{ text: t('home.invitations.noLonger') }] }, 409);
        }
        throw err;
      }
      return reply.redirect(
        `/?done=${answer === 'accept' ? 'invitationAccepted' : 'invitationDeclined'}`,
        303,
      );
    });
  }

  app.get('/accessibility', async (request, reply) => pages.send(request, reply, 'accessibility'));
  app.get('/privacy', async (request, reply) => pages.send(request, reply, 'privacy'));
}
