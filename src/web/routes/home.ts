import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/index.ts';
import { homeFor } from '../home.ts';
import { formatDate, translator } from '../i18n.ts';
import type { Pages } from '../pages.ts';

/** The people's home page, and the pages every service owes them (accessibility, privacy). */
export async function homeRoutes(app: FastifyInstance, { db, pages }: { db: Db; pages: Pages }) {
  app.get('/', async (request, reply) => {
    const visitor = request.visitor;
    if (!visitor?.person) return pages.send(request, reply, 'home');
    const home = await homeFor(db, visitor.person.principal);
    const t = translator(visitor.locale);
    const roles = [
      ...(home.isAdmin ? [t('home.roles.admin')] : []),
      ...(home.leadAreas.length ? [t('home.roles.lead', { areas: home.leadAreas.join(', ') })] : []),
      ...(home.isAppraiser ? [t('home.roles.appraiser')] : []),
      ...(home.organisations.length ? [t('home.roles.applicant')] : []),
    ];
    return pages.send(request, reply, 'home', {
      home: {
        roles,
        organisations: home.organisations.map((o) => ({
          name: o.name,
          stream: o.stream,
          area: o.area,
          pledge: o.pledge
            ? t('home.organisations.pledgeSigned', {
                date: formatDate(visitor.locale, o.pledge.signedAt),
                name: o.pledge.signatoryName,
              })
            : t('home.organisations.pledgeNotSigned'),
        })),
      },
    });
  });

  app.get('/accessibility', async (request, reply) => pages.send(request, reply, 'accessibility'));
  app.get('/privacy', async (request, reply) => pages.send(request, reply, 'privacy'));
}
