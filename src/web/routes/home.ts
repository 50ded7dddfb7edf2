import type { FastifyInstance } from 'fastify';
import { homeFor } from '../../applications/journey.ts';
import type { Db } from '../../db/index.ts';
import { formatDate, translator } from '../i18n.ts';
import { nextStep, statusText } from '../journey.ts';
import type { Pages } from '../pages.ts';

/** The people's home page, and the pages every service owes them (accessibility, privacy). */
export async function homeRoutes(app: FastifyInstance, { db, pages }: { db: Db; pages: Pages }) {
  app.get('/', async (request, reply) => {
    const visitor = request.visitor;
    if (!visitor?.person) return pages.send(request, reply, 'home');
    const home = await homeFor(db, visitor.person.principal);
    const locale = visitor.locale;
    const t = translator(locale);
    const date = (d: Date) => formatDate(locale, d);
    const roles = [
      ...(home.isAdmin ? [t('home.roles.admin')] : []),
      ...(home.leadAreas.length ? [t('home.roles.lead', { areas: home.leadAreas.join(', ') })] : []),
      ...(home.isAppraiser ? [t('home.roles.appraiser')] : []),
      ...(home.organisations.length ? [t('home.roles.applicant')] : []),
    ];
    return pages.send(request, reply, 'home', {
      done: (request.query as { done?: string }).done,
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
            stream: o.stream,
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
    });
  });

  app.get('/accessibility', async (request, reply) => pages.send(request, reply, 'accessibility'));
  app.get('/privacy', async (request, reply) => pages.send(request, reply, 'privacy'));
}
