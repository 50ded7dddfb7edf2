import { beforeAll, describe, expect, it } from '@jest/globals';
import { insertInvitation } from '../../src/users/repository.ts';
import type { Client, Res } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import type { World } from '../helpers/world.ts';

/**
 * SPEC §3 and §8: every foundation endpoint × every role. A resource outside the caller's scope
 * answers 404 (its existence is not revealed); inside scope but not permitted for the role, 403;
 * no token, 401. Cells that change data create their own resources.
 */

const ROLES = ['admin', 'leadA', 'leadB', 'appraiser', 'applicantA', 'applicantB', 'anonymous'] as const;
type Role = (typeof ROLES)[number];
type Status = 200 | 201 | 202 | 204 | 400 | 401 | 403 | 404;

/** Users made for the matrix beyond the world's. */
type Extra = {
  /** An applicant of orgA who also leads area B: visible to leadA, but privileged. */
  dualId: string;
  /** applicantB's address, which lead A can only invite. */
  applicantBEmail: string;
};

type Request = { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; body?: unknown };

type Case = {
  /** The endpoint and target, as it appears in test names. */
  label: string;
  request: (w: World, x: Extra) => Request | Promise<Request>;
  expect: Record<Role, Status>;
  /** Further checks on an allowed answer. */
  check?: (res: Res, role: Role, w: World) => void;
};

let seq = 0;
const unique = (what: string) => `${what}-${Date.now().toString(36)}-${++seq}`;
const ids = (res: Res) => (res.body.items as { id: string }[]).map((i) => i.id);

const EVERYONE_READS = {
  admin: 200,
  leadA: 200,
  leadB: 200,
  appraiser: 200,
  applicantA: 200,
  applicantB: 200,
  anonymous: 401,
} as const;

const ADMIN_ONLY = (status: Status) =>
  ({
    admin: status,
    leadA: 403,
    leadB: 403,
    appraiser: 403,
    applicantA: 403,
    applicantB: 403,
    anonymous: 401,
  }) as const;

/** A school of lead A's made for one cell, so that joining it changes nothing the other cells look at. */
async function freshSchoolOfLeadA(w: World): Promise<string> {
  const school = await w.leadA.api.post('/organisations', {
    name: unique('Invitation School'),
    streamId: w.schoolsStreamId,
    areaId: w.areaA,
  });
  if (school.status !== 201) throw new Error(`school: ${school.status} ${JSON.stringify(school.body)}`);
  return school.body.id;
}

/** A fresh invitation from lead A to applicant B (outside lead A's scope), through the API. */
async function invitationToApplicantB(w: World, x: Extra): Promise<string> {
  const res = await w.leadA.api.post(`/organisations/${await freshSchoolOfLeadA(w)}/members`, {
    email: x.applicantBEmail,
    name: 'Applicant B',
  });
  if (res.status !== 202) throw new Error(`invite: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.invitation.id;
}

/**
 * The same invitation, stored directly: once applicant B has accepted one, they are within lead A's
 * scope, so the API would add them at once instead of inviting them for the cells that follow.
 */
async function storedInvitationToApplicantB(w: World, x: Extra): Promise<string> {
  const row = await insertInvitation(t.database.db, {
    user_id: w.applicantB.id,
    email: x.applicantBEmail,
    name: 'Applicant B',
    grants: [{ role: 'applicant', organisationId: await freshSchoolOfLeadA(w) }],
    invited_by: w.leadA.id,
    expires_at: new Date(Date.now() + 86_400_000),
  });
  return row.id;
}

/** Issues a fresh token for a user, as the admin, so a revocation cell never spends a world token. */
async function freshTokenId(w: World, userId: string): Promise<string> {
  const res = await w.admin.api.post(`/users/${userId}/tokens`, {});
  if (res.status !== 201) throw new Error(`issue token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

const criteriaSet = {
  note: 'Matrix',
  criteria: [
    { code: 'L1', process: 'learn', title: 'Learn about sanctuary' },
    { code: 'E1', process: 'embed', title: 'Embed a culture of welcome' },
    { code: 'S1', process: 'share', title: 'Share the work' },
  ],
};

const CASES: Case[] = [
  {
    label: 'GET /me',
    request: () => ({ method: 'GET', url: '/me' }),
    expect: EVERYONE_READS,
    check: (res, role, w) => {
      const actor = role === 'appraiser' ? w.appraiserA : w[role as Exclude<Role, 'appraiser' | 'anonymous'>];
      expect(res.body.id).toBe(actor.id);
    },
  },

  // Users: admins create anyone; a lead invites applicants and appraisers for their own area only (202).
  {
    label: 'POST /users (applicant of orgA)',
    request: (w) => ({
      method: 'POST',
      url: '/users',
      body: {
        email: `${unique('applicant')}@example.org`,
        name: 'New Applicant',
        grants: [{ role: 'applicant', organisationId: w.orgA }],
      },
    }),
    // leadB names an organisation outside their scope: it reads exactly like a missing one.
    expect: {
      admin: 201,
      leadA: 202,
      leadB: 400,
      appraiser: 403,
      applicantA: 403,
      applicantB: 403,
      anonymous: 401,
    },
  },
  {
    label: 'POST /users (appraiser)',
    request: () => ({
      method: 'POST',
      url: '/users',
      body: {
        email: `${unique('appraiser')}@example.org`,
        name: 'New Appraiser',
        grants: [{ role: 'appraiser' }],
        appraiserProfile: { livedExperience: false },
      },
    }),
    expect: {
      admin: 201,
      leadA: 202,
      leadB: 202,
      appraiser: 403,
      applicantA: 403,
      applicantB: 403,
      anonymous: 401,
    },
  },
  {
    label: 'POST /users (appraiser homed in areaA)',
    request: (w) => ({
      method: 'POST',
      url: '/users',
      body: {
        email: `${unique('appraiser')}@example.org`,
        name: 'Homed Appraiser',
        grants: [{ role: 'appraiser' }],
        appraiserProfile: { livedExperience: true, homeAreaId: w.areaA },
      },
    }),
    expect: {
      admin: 201,
      leadA: 202,
      leadB: 403,
      appraiser: 403,
      applicantA: 403,
      applicantB: 403,
      anonymous: 401,
    },
  },
  {
    label: 'POST /users (lead of areaA)',
    request: (w) => ({
      method: 'POST',
      url: '/users',
      body: {
        email: `${unique('lead')}@example.org`,
        name: 'New Lead',
        grants: [{ role: 'lead', areaId: w.areaA }],
      },
    }),
    expect: ADMIN_ONLY(201),
  },
  {
    label: 'POST /users (admin)',
    request: () => ({
      method: 'POST',
      url: '/users',
      body: { email: `${unique('admin')}@example.org`, name: 'New Admin', grants: [{ role: 'admin' }] },
    }),
    expect: ADMIN_ONLY(201),
  },
  {
    label: 'GET /users',
    request: () => ({ method: 'GET', url: '/users?limit=500' }),
    expect: EVERYONE_READS,
    check: (res, role, w) => {
      const seen = ids(res);
      const sees = (actor: { id: string }, visible: boolean) => expect(seen.includes(actor.id)).toBe(visible);
      if (role === 'admin') {
        for (const a of [w.admin, w.leadA, w.leadB, w.appraiserA, w.applicantA, w.applicantB]) sees(a, true);
      } else if (role === 'leadA') {
        for (const a of [w.leadA, w.appraiserA, w.applicantA]) sees(a, true);
        for (const a of [w.admin, w.leadB, w.applicantB]) sees(a, false);
      } else if (role === 'leadB') {
        for (const a of [w.leadB, w.applicantB]) sees(a, true);
        for (const a of [w.admin, w.leadA, w.appraiserA, w.applicantA]) sees(a, false);
      } else if (role === 'appraiser') {
        expect(seen).toEqual([w.appraiserA.id]);
      } else if (role === 'applicantA') {
        expect(seen).toEqual([w.applicantA.id]);
      } else if (role === 'applicantB') {
        expect(seen).toEqual([w.applicantB.id]);
      }
    },
  },
  {
    label: 'GET /users/{applicantA}',
    request: (w) => ({ method: 'GET', url: `/users/${w.applicantA.id}` }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 404,
      applicantA: 200,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res, _role, w) => expect(res.body.id).toBe(w.applicantA.id),
  },
  {
    label: 'GET /users/{appraiserA}',
    request: (w) => ({ method: 'GET', url: `/users/${w.appraiserA.id}` }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 200,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res) => expect(res.body.appraiserProfile.livedExperience).toBe(true),
  },
  {
    label: 'GET /users/{admin}',
    request: (w) => ({ method: 'GET', url: `/users/${w.admin.id}` }),
    expect: {
      admin: 200,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },

  // Tokens: a credential is personal, so admins and the person themself issue one, never a lead (403 in
  // scope, 404 beyond); a lead lists and revokes those of the people wholly within their areas.
  {
    label: 'POST /users/{applicantA}/tokens',
    request: (w) => ({ method: 'POST', url: `/users/${w.applicantA.id}/tokens`, body: { expiresInDays: 1 } }),
    expect: {
      admin: 201,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 201,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res) => expect(res.body.token).toMatch(/^sa_/),
  },
  {
    label: 'POST /users/{appraiserA}/tokens',
    request: (w) => ({ method: 'POST', url: `/users/${w.appraiserA.id}/tokens`, body: { expiresInDays: 1 } }),
    expect: {
      admin: 201,
      leadA: 403,
      leadB: 404,
      appraiser: 201,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'POST /users/{admin}/tokens',
    request: (w) => ({ method: 'POST', url: `/users/${w.admin.id}/tokens`, body: { expiresInDays: 1 } }),
    expect: {
      admin: 201,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'POST /users/{leadA}/tokens',
    request: (w) => ({ method: 'POST', url: `/users/${w.leadA.id}/tokens`, body: { expiresInDays: 1 } }),
    expect: {
      admin: 201,
      leadA: 201,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    // Visible to leadA as an applicant of orgA, but a lead never manages another lead.
    label: 'POST /users/{applicant of orgA who leads areaB}/tokens',
    request: (_w, x) => ({ method: 'POST', url: `/users/${x.dualId}/tokens`, body: { expiresInDays: 1 } }),
    expect: {
      admin: 201,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'GET /users/{applicantA}/tokens',
    request: (w) => ({ method: 'GET', url: `/users/${w.applicantA.id}/tokens` }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 404,
      applicantA: 200,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res) => {
      expect(res.body.items.length).toBeGreaterThan(0);
      for (const item of res.body.items) expect(item).not.toHaveProperty('token');
    },
  },
  {
    label: 'GET /users/{admin}/tokens',
    request: (w) => ({ method: 'GET', url: `/users/${w.admin.id}/tokens` }),
    expect: {
      admin: 200,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'GET /users/{applicant of orgA who leads areaB}/tokens',
    request: (_w, x) => ({ method: 'GET', url: `/users/${x.dualId}/tokens` }),
    expect: {
      admin: 200,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'DELETE /tokens/{a token of applicantA}',
    request: async (w) => ({ method: 'DELETE', url: `/tokens/${await freshTokenId(w, w.applicantA.id)}` }),
    expect: {
      admin: 204,
      leadA: 204,
      leadB: 404,
      appraiser: 404,
      applicantA: 204,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'DELETE /tokens/{a token of admin}',
    request: async (w) => ({ method: 'DELETE', url: `/tokens/${await freshTokenId(w, w.admin.id)}` }),
    expect: {
      admin: 204,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'DELETE /tokens/{a token of the applicant of orgA who leads areaB}',
    request: async (w, x) => ({ method: 'DELETE', url: `/tokens/${await freshTokenId(w, x.dualId)}` }),
    expect: {
      admin: 204,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },

  // Streams: any user reads; only an admin publishes criteria.
  {
    label: 'GET /streams',
    request: () => ({ method: 'GET', url: '/streams' }),
    expect: EVERYONE_READS,
    check: (res) => expect(res.body.items.length).toBeGreaterThan(0),
  },
  {
    label: 'GET /streams/{schools}',
    request: (w) => ({ method: 'GET', url: `/streams/${w.schoolsStreamId}` }),
    expect: EVERYONE_READS,
    check: (res, _role, w) => expect(res.body.id).toBe(w.schoolsStreamId),
  },
  {
    label: 'GET /streams/{schools}/criteria-sets',
    request: (w) => ({ method: 'GET', url: `/streams/${w.schoolsStreamId}/criteria-sets` }),
    expect: EVERYONE_READS,
    check: (res) => expect(res.body.items.length).toBeGreaterThan(0),
  },
  {
    label: 'POST /streams/{schools}/criteria-sets',
    request: (w) => ({
      method: 'POST',
      url: `/streams/${w.schoolsStreamId}/criteria-sets`,
      body: criteriaSet,
    }),
    expect: ADMIN_ONLY(201),
  },

  // Areas: any user reads; admins write.
  {
    label: 'GET /areas',
    request: () => ({ method: 'GET', url: '/areas' }),
    expect: EVERYONE_READS,
    check: (res, _role, w) => expect(ids(res)).toEqual(expect.arrayContaining([w.areaA, w.areaB])),
  },
  {
    label: 'POST /areas',
    request: () => ({
      method: 'POST',
      url: '/areas',
      body: { name: unique('Area'), nation: 'scotland', active: true },
    }),
    expect: ADMIN_ONLY(201),
  },
  {
    label: 'GET /areas/{areaA}',
    request: (w) => ({ method: 'GET', url: `/areas/${w.areaA}` }),
    expect: EVERYONE_READS,
    check: (res, _role, w) => expect(res.body.id).toBe(w.areaA),
  },
  {
    label: 'PATCH /areas/{areaA}',
    request: (w) => ({ method: 'PATCH', url: `/areas/${w.areaA}`, body: { region: 'West Midlands' } }),
    expect: ADMIN_ONLY(200),
  },

  // Organisations: admins everywhere, a lead in their own areas, members read their own.
  {
    label: 'POST /organisations (in areaA)',
    request: (w) => ({
      method: 'POST',
      url: '/organisations',
      body: { name: unique('School'), streamId: w.schoolsStreamId, areaId: w.areaA },
    }),
    expect: {
      admin: 201,
      leadA: 201,
      leadB: 403,
      appraiser: 403,
      applicantA: 403,
      applicantB: 403,
      anonymous: 401,
    },
  },
  {
    label: 'GET /organisations',
    request: () => ({ method: 'GET', url: '/organisations?limit=500' }),
    expect: EVERYONE_READS,
    check: (res, role, w) => {
      const seen = ids(res);
      const visible: Record<Exclude<Role, 'anonymous'>, [boolean, boolean]> = {
        admin: [true, true],
        leadA: [true, false],
        leadB: [false, true],
        appraiser: [false, false],
        applicantA: [true, false],
        applicantB: [false, true],
      };
      const [a, b] = visible[role as Exclude<Role, 'anonymous'>];
      expect(seen.includes(w.orgA)).toBe(a);
      expect(seen.includes(w.orgB)).toBe(b);
      if (role === 'appraiser') expect(seen).toEqual([]);
      if (role === 'applicantA') expect(seen).toEqual([w.orgA]);
    },
  },
  {
    label: 'GET /organisations/{orgA}',
    request: (w) => ({ method: 'GET', url: `/organisations/${w.orgA}` }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 404,
      applicantA: 200,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res, _role, w) => expect(res.body.id).toBe(w.orgA),
  },
  {
    label: 'GET /organisations/{orgB}',
    request: (w) => ({ method: 'GET', url: `/organisations/${w.orgB}` }),
    expect: {
      admin: 200,
      leadA: 404,
      leadB: 200,
      appraiser: 404,
      applicantA: 404,
      applicantB: 200,
      anonymous: 401,
    },
  },
  {
    label: 'PATCH /organisations/{orgA}',
    request: (w) => ({ method: 'PATCH', url: `/organisations/${w.orgA}`, body: { phase: 'primary' } }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 404,
      applicantA: 403,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'PATCH /organisations/{orgA} (move to areaB)',
    request: async (w) => {
      // A fresh organisation each time: the allowed cell really moves it.
      const created = await w.admin.api.post('/organisations', {
        name: unique('Mover'),
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
      });
      return { method: 'PATCH', url: `/organisations/${created.body.id}`, body: { areaId: w.areaB } };
    },
    // leadA manages the organisation but may not place it in someone else's area.
    expect: {
      admin: 200,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 404,
      anonymous: 401,
    },
  },
  {
    label: 'GET /organisations/{orgA}/members',
    request: (w) => ({ method: 'GET', url: `/organisations/${w.orgA}/members` }),
    expect: {
      admin: 200,
      leadA: 200,
      leadB: 404,
      appraiser: 404,
      applicantA: 200,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res, _role, w) => expect(ids(res)).toContain(w.applicantA.id),
  },
  {
    label: 'POST /organisations/{orgA}/members',
    request: (w) => ({
      method: 'POST',
      url: `/organisations/${w.orgA}/members`,
      body: { email: `${unique('member')}@example.org`, name: 'New Member' },
    }),
    // A lead adds a new address by invitation; an admin at once.
    expect: {
      admin: 201,
      leadA: 202,
      leadB: 404,
      appraiser: 404,
      applicantA: 403,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res, role, w) =>
      role === 'admin'
        ? expect(res.body.grants).toEqual([{ role: 'applicant', organisationId: w.orgA }])
        : expect(res.body.invitation).toMatchObject({
            status: 'pending',
            grants: [{ role: 'applicant', organisationId: w.orgA }],
          }),
  },
  {
    label: 'POST /organisations/{orgA}/pledge',
    request: (w) => ({
      method: 'POST',
      url: `/organisations/${w.orgA}/pledge`,
      body: { signatoryName: 'Ms Head', signatoryRole: 'Headteacher' },
    }),
    expect: {
      admin: 403,
      leadA: 403,
      leadB: 404,
      appraiser: 404,
      applicantA: 201,
      applicantB: 404,
      anonymous: 401,
    },
    check: (res, _role, w) => expect(res.body.signedBy).toBe(w.applicantA.id),
  },

  // Invitations: each person sees and answers only their own; someone else's reads as missing. Last,
  // as accepting one makes applicant B a member of a school of lead A's.
  {
    label: 'GET /me/invitations',
    request: () => ({ method: 'GET', url: '/me/invitations' }),
    expect: EVERYONE_READS,
    check: (res) => expect(Array.isArray(res.body.items)).toBe(true),
  },
  {
    label: 'POST /me/invitations/{an invitation to applicantB}/decline',
    request: async (w, x) => ({
      method: 'POST',
      url: `/me/invitations/${await invitationToApplicantB(w, x)}/decline`,
    }),
    expect: {
      admin: 404,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 200,
      anonymous: 401,
    },
    check: (res) => expect(res.body.status).toBe('declined'),
  },
  {
    label: 'POST /me/invitations/{an invitation to applicantB}/accept',
    request: async (w, x) => ({
      method: 'POST',
      url: `/me/invitations/${await storedInvitationToApplicantB(w, x)}/accept`,
    }),
    expect: {
      admin: 404,
      leadA: 404,
      leadB: 404,
      appraiser: 404,
      applicantA: 404,
      applicantB: 200,
      anonymous: 401,
    },
    check: (res) => expect(res.body.status).toBe('accepted'),
  },
];

const { t, w } = useWorld();
let extra: Extra;

beforeAll(async () => {
  const dual = await w.admin.api.post('/users', {
    email: 'dual@example.org',
    name: 'Applicant and Lead',
    grants: [
      { role: 'applicant', organisationId: w.orgA },
      { role: 'lead', areaId: w.areaB },
    ],
  });
  if (dual.status !== 201) throw new Error(`dual user: ${dual.status} ${JSON.stringify(dual.body)}`);
  const applicantB = await w.admin.api.get(`/users/${w.applicantB.id}`);
  extra = { dualId: dual.body.id, applicantBEmail: applicantB.body.email };
});

function apiOf(role: Role): Client {
  switch (role) {
    case 'appraiser':
      return w.appraiserA.api;
    case 'anonymous':
      return w.anonymous;
    default:
      return w[role].api;
  }
}

/** The stable code each error status of the matrix carries (SPEC §5). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'validation-failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
};

describe('authorization matrix (SPEC §3)', () => {
  for (const c of CASES) {
    describe(c.label, () => {
      for (const role of ROLES) {
        const status = c.expect[role];
        it(`${c.label} as ${role} → ${status}`, async () => {
          const req = await c.request(w, extra);
          const res = await apiOf(role).send(req.method, req.url, req.body);
          expect({ status: res.status, body: res.body }).toMatchObject({ status });
          if (status >= 400) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.body).toMatchObject({ status, code: CODE_OF_STATUS[status] });
            expect(typeof res.body.detail).toBe('string');
          } else {
            c.check?.(res, role, w);
          }
        });
      }
    });
  }
});
