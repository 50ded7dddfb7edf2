import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config.ts';
import type { Db } from '../../../db/index.ts';
import type { SignIn } from '../../../signin/service.ts';
import type { Pages } from '../../pages.ts';
import { leadDashboardRoutes } from './dashboard.ts';
import { leadListRoutes } from './lists.ts';
import { leadOrganisationRoutes } from './organisations.ts';
import { leadPeopleRoutes } from './people.ts';

/** The local lead's area (SPEC §9): the dashboard, the lists, organisations and people, under /lead. */
export async function leadRoutes(
  app: FastifyInstance,
  options: { db: Db; config: Config; signIn: SignIn; pages: Pages },
) {
  await app.register(leadDashboardRoutes, options);
  await app.register(leadListRoutes, options);
  await app.register(leadOrganisationRoutes, options);
  await app.register(leadPeopleRoutes, options);
}
