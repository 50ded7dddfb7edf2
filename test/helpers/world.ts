import type { FastifyInstance } from 'fastify';
import { ensureFirstAdmin } from '../../src/bootstrap.ts';
import type { Db } from '../../src/db/index.ts';
import { type Client, client } from './client.ts';

export type Actor = { id: string; token: string; api: Client };

/**
 * A small national network built through the API as an admin would: two areas with a lead each,
 * appraisers, a school in each area with an applicant member. The admin creates the people and issues
 * their tokens; each lead registers their own area's school.
 */
export type World = {
  admin: Actor;
  schoolsStreamId: string;
  areaA: string;
  areaB: string;
  leadA: Actor;
  leadB: Actor;
  appraiserA: Actor;
  orgA: string;
  orgB: string;
  applicantA: Actor;
  applicantB: Actor;
  anonymous: Client;
};

function expectStatus(res: { status: number; body: unknown }, status: number, what: string) {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as any;
}

/**
 * A user with their grants and a token, both from an admin: only an admin creates users with grants at
 * once, and only an admin (or the person themself) issues a token (SPEC §3, §5). An appraiser meant to
 * belong to an area names it as `appraiserProfile.homeAreaId`; without one they are in the national pool.
 */
export async function createUserWithToken(
  app: FastifyInstance,
  admin: Client,
  user: Record<string, unknown>,
): Promise<Actor> {
  const created = expectStatus(await admin.post('/users', user), 201, `create user ${user.email}`);
  const token = expectStatus(await admin.post(`/users/${created.id}/tokens`, {}), 201, 'issue token');
  return { id: created.id, token: token.token, api: client(app, token.token) };
}

let counter = 0;
export async function createWorld(app: FastifyInstance, db: Db): Promise<World> {
  const n = ++counter;
  const first = await ensureFirstAdmin(db, `admin${n}@example.org`);
  if (!first) throw new Error('the test database already has an admin');
  const adminApi = client(app, first.token);
  const me = expectStatus(await adminApi.get('/me'), 200, 'me');
  const admin = { id: me.id, token: first.token, api: adminApi };

  const streams = expectStatus(await adminApi.get('/streams'), 200, 'streams');
  const schoolsStreamId = streams.items.find((s: { slug: string }) => s.slug === 'schools').id;
  const areaA = expectStatus(
    await adminApi.post('/areas', {
      name: 'Coventry',
      nation: 'england',
      region: 'West Midlands',
      localAuthorities: ['Coventry'],
      leadOrganisation: 'Coventry EMAS',
      active: true,
    }),
    201,
    'area A',
  ).id;
  const areaB = expectStatus(
    await adminApi.post('/areas', { name: 'Cardiff', nation: 'wales', active: true }),
    201,
    'area B',
  ).id;

  const leadA = await createUserWithToken(app, adminApi, {
    email: `lead.a${n}@example.org`,
    name: 'Lead A',
    grants: [{ role: 'lead', areaId: areaA }],
  });
  const leadB = await createUserWithToken(app, adminApi, {
    email: `lead.b${n}@example.org`,
    name: 'Lead B',
    grants: [{ role: 'lead', areaId: areaB }],
  });
  const appraiserA = await createUserWithToken(app, adminApi, {
    email: `appraiser.a${n}@example.org`,
    name: 'Appraiser A',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: true, localGroup: true, cosStaff: false, homeAreaId: areaA },
  });
  const orgA = expectStatus(
    await leadA.api.post('/organisations', {
      name: 'Hillfields Primary School',
      streamId: schoolsStreamId,
      areaId: areaA,
      phase: 'primary',
      urn: '103677',
    }),
    201,
    'org A',
  ).id;
  const orgB = expectStatus(
    await leadB.api.post('/organisations', {
      name: 'Ysgol Glan Morfa',
      streamId: schoolsStreamId,
      areaId: areaB,
      phase: 'primary',
    }),
    201,
    'org B',
  ).id;
  const applicantA = await createUserWithToken(app, adminApi, {
    email: `applicant.a${n}@example.org`,
    name: 'Applicant A',
    grants: [{ role: 'applicant', organisationId: orgA }],
  });
  const applicantB = await createUserWithToken(app, adminApi, {
    email: `applicant.b${n}@example.org`,
    name: 'Applicant B',
    grants: [{ role: 'applicant', organisationId: orgB }],
  });
  return {
    admin,
    schoolsStreamId,
    areaA,
    areaB,
    leadA,
    leadB,
    appraiserA,
    orgA,
    orgB,
    applicantA,
    applicantB,
    anonymous: client(app),
  };
}
