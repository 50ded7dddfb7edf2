import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { event, ok, readyDraft, SCHOOL_CODES, uploadEvidence } from '../helpers/applications.ts';
import { client, type Res } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/**
 * Issue 10, credentials (SPEC §3, §5): a credential is personal; reach never grows behind someone's
 * back (appraisers from the assigner's own areas, invitations instead of grants, no answer that tells
 * whether an address has an account elsewhere); e-mail addresses are checked strictly.
 */

const { t, w } = useWorld();

let seq = 0;
const address = (what: string) => `${what}.${++seq}.${randomUUID().slice(0, 8)}@example.org`;

/** An appraiser made by the admin, homed in `homeAreaId` (null: the national pool). */
async function appraiser(homeAreaId: string | null): Promise<Actor> {
  return createUserWithToken(t.app, w.admin.api, {
    email: address('appraiser'),
    name: 'An Appraiser',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: true, localGroup: false, cosStaff: false, homeAreaId },
  });
}

/** An applicant of school B made by the admin: an account lead A cannot see. */
async function personInAreaB(): Promise<Actor & { email: string }> {
  const email = address('member.b');
  const actor = await createUserWithToken(t.app, w.admin.api, {
    email,
    name: 'Member of School B',
    grants: [{ role: 'applicant', organisationId: w.orgB }],
  });
  return { ...actor, email };
}

/** A submitted application of school A, accepted by lead A: its panel is forming. */
async function panelFormingInAreaA(): Promise<string> {
  const id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  ok(await event(w.leadA, id, { type: 'ACCEPT' }));
  return id;
}

/** The same for school B, in area B. */
async function panelFormingInAreaB(): Promise<string> {
  const applicant = w.applicantB;
  const id = ok(await applicant.api.post('/applications', { organisationId: w.orgB }), 201).id as string;
  ok(
    await applicant.api.post(`/organisations/${w.orgB}/pledge`, {
      signatoryName: 'Pennaeth',
      signatoryRole: 'Headteacher',
    }),
    201,
  );
  for (const code of SCHOOL_CODES)
    ok(await applicant.api.put(`/applications/${id}/answers/${code}`, { text: `Ein gwaith ar ${code}` }));
  ok(await uploadEvidence(t.app, applicant, id, SCHOOL_CODES, `evidence-b-${id}`), 201);
  ok(await event(applicant, id, { type: 'SUBMIT' }));
  ok(await event(w.leadB, id, { type: 'ACCEPT' }));
  return id;
}

function expectProblem(res: Res, status: number, code: string) {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

describe('a credential is personal', () => {
  it('a lead never issues a token for someone else, even a person wholly within their area', async () => {
    for (const person of [w.appraiserA, w.applicantA]) {
      const res = await w.leadA.api.post(`/users/${person.id}/tokens`, {});
      expectProblem(res, 403, 'forbidden');
      expect(res.body.detail).toMatch(/admin, or the person themself/);
    }
    // Out of scope it stays not found: existence is not revealed.
    expectProblem(await w.leadA.api.post(`/users/${w.applicantB.id}/tokens`, {}), 404, 'not-found');
    const stored = await t.database.db
      .selectFrom('api_tokens')
      .select('id')
      .where('created_by', '=', w.leadA.id)
      .execute();
    expect(stored).toEqual([]);
  });

  it("a lead's appraiser who later sits on another area's panel: no copy can be minted, before or after", async () => {
    const person = await appraiser(w.areaA);
    expectProblem(await w.leadA.api.post(`/users/${person.id}/tokens`, {}), 403, 'forbidden');

    const elsewhere = await panelFormingInAreaB();
    // Lead B may not assign an appraiser of area A; the admin may.
    const byLeadB = await event(w.leadB, elsewhere, { type: 'ASSIGN_APPRAISER', userId: person.id });
    expectProblem(byLeadB, 422, 'guard-failed');
    ok(await event(w.admin, elsewhere, { type: 'ASSIGN_APPRAISER', userId: person.id }));

    expectProblem(await w.leadA.api.post(`/users/${person.id}/tokens`, {}), 403, 'forbidden');
    expect((await w.leadA.api.get(`/applications/${elsewhere}`)).status).toBe(404);
    // The person's own token, and the admin's issuing, still work.
    const own = ok(await person.api.post(`/users/${person.id}/tokens`, { expiresInDays: 1 }), 201);
    expect((await client(t.app, own.token).get(`/applications/${elsewhere}`)).status).toBe(200);
    ok(await w.admin.api.post(`/users/${person.id}/tokens`, {}), 201);
  });

  it('a lead still lists and revokes the tokens of people wholly within their areas', async () => {
    const person = await appraiser(w.areaA);
    const issued = ok(await w.admin.api.post(`/users/${person.id}/tokens`, {}), 201);
    const list = ok(await w.leadA.api.get(`/users/${person.id}/tokens`));
    expect(list.items.map((i: { id: string }) => i.id)).toContain(issued.id);
    expect((await w.leadA.api.delete(`/tokens/${issued.id}`)).status).toBe(204);
    expect((await client(t.app, issued.token).get('/me')).status).toBe(401);
  });
});

describe('a lead assigns appraisers from their own areas or the national pool', () => {
  let id: string;
  beforeAll(async () => {
    id = await panelFormingInAreaA();
  });

  it('assigns one homed in their area, and one of the national pool', async () => {
    const own = await appraiser(w.areaA);
    const national = await appraiser(null);
    ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: own.id }));
    const after = ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: national.id }));
    expect(after.panel.map((m: { userId: string }) => m.userId)).toEqual([own.id, national.id]);
  });

  it('refuses one homed in another area with a reason in plain words (422); an admin may assign them', async () => {
    const other = await appraiser(w.areaB);
    const refused = await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: other.id });
    expectProblem(refused, 422, 'guard-failed');
    expect(refused.body.blockers).toEqual([
      expect.stringMatching(/belongs to another area: a local lead assigns appraisers from their own areas/),
    ]);
    expect((await other.api.get(`/applications/${id}`)).status).toBe(404);
    ok(await event(w.admin, id, { type: 'ASSIGN_APPRAISER', userId: other.id }));
    expect((await other.api.get(`/applications/${id}`)).status).toBe(200);
  });

  it('a lead of two areas assigns appraisers of either', async () => {
    const areaC = ok(
      await w.admin.api.post('/areas', { name: `Swansea ${randomUUID()}`, nation: 'wales', active: true }),
      201,
    ).id as string;
    const lead = await createUserWithToken(t.app, w.admin.api, {
      email: address('lead.two'),
      name: 'Lead of A and C',
      grants: [
        { role: 'lead', areaId: w.areaA },
        { role: 'lead', areaId: areaC },
      ],
    });
    const fromC = await appraiser(areaC);
    ok(await event(lead, id, { type: 'ASSIGN_APPRAISER', userId: fromC.id }));
  });
});

describe('adding people by e-mail never grows reach behind their back, nor reveals an address', () => {
  /** applicant B's address: an account lead A cannot see. */
  let elsewhere: string;
  beforeAll(async () => {
    elsewhere = ok(await w.admin.api.get(`/users/${w.applicantB.id}`)).email;
  });

  const offerToOrgA = (email: string, name = 'Someone New') => ({
    email,
    name,
    grants: [{ role: 'applicant', organisationId: w.orgA }],
  });

  /** The answer with what necessarily differs between two invitations (id, times) blanked out. */
  const shape = (res: Res) => ({
    status: res.status,
    keys: Object.keys(res.body).sort(),
    invitation: {
      ...res.body.invitation,
      id: typeof res.body.invitation?.id,
      email: typeof res.body.invitation?.email,
      createdAt: typeof res.body.invitation?.createdAt,
      expiresAt: typeof res.body.invitation?.expiresAt,
    },
  });

  it('POST /users: a new address and an account elsewhere get the same 202 invitation', async () => {
    const fresh = await w.leadA.api.post('/users', offerToOrgA(address('new'), 'Ms Lewis'));
    const taken = await w.leadA.api.post('/users', offerToOrgA(elsewhere, 'Ms Lewis'));
    expect(fresh.status).toBe(202);
    expect(shape(taken)).toEqual(shape(fresh));
    expect(fresh.body.invitation).toEqual({
      id: expect.any(String),
      email: fresh.body.invitation.email,
      name: 'Ms Lewis',
      grants: [{ role: 'applicant', organisationId: w.orgA, organisationName: 'Hillfields Primary School' }],
      invitedBy: { id: w.leadA.id, name: 'Lead A' },
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      status: 'pending',
    });
    // Not the account's own name, not a user id: nothing of the existing account shows.
    expect(taken.body.invitation.name).toBe('Ms Lewis');
    expect(JSON.stringify(taken.body)).not.toContain(w.applicantB.id);
    expect(JSON.stringify(taken.body)).not.toContain('Applicant B');
    // The account elsewhere is unchanged until its holder accepts.
    expect(ok(await w.admin.api.get(`/users/${w.applicantB.id}`)).grants).toEqual([
      { role: 'applicant', organisationId: w.orgB },
    ]);
  });

  it('POST /users: the new address has an account at once, without grants, that the lead cannot see', async () => {
    const email = address('fresh');
    ok(await w.leadA.api.post('/users', offerToOrgA(email)), 202);
    const found = ok(await w.admin.api.get(`/users?email=${encodeURIComponent(email)}`)).items;
    expect(found).toEqual([expect.objectContaining({ email, name: 'Someone New', grants: [] })]);
    expect(ok(await w.leadA.api.get(`/users?email=${encodeURIComponent(email)}`)).items).toEqual([]);
  });

  it('POST /users: someone already in the lead’s scope is a conflict, as the lead can see them anyway', async () => {
    const applicantA = ok(await w.admin.api.get(`/users/${w.applicantA.id}`));
    expectProblem(await w.leadA.api.post('/users', offerToOrgA(applicantA.email)), 409, 'conflict');
    // An admin's duplicate is a conflict too: nothing lies outside an admin's scope.
    expectProblem(await w.admin.api.post('/users', offerToOrgA(elsewhere)), 409, 'conflict');
  });

  it('POST /users: a lead must offer something', async () => {
    const res = await w.leadA.api.post('/users', { email: address('bare'), name: 'Bare', grants: [] });
    expectProblem(res, 400, 'validation-failed');
  });

  it('POST /organisations/{id}/members: an account elsewhere is invited like a new address (was 409)', async () => {
    const fresh = await w.leadA.api.post(`/organisations/${w.orgA}/members`, {
      email: address('m'),
      name: 'M',
    });
    const taken = await w.leadA.api.post(`/organisations/${w.orgA}/members`, { email: elsewhere, name: 'M' });
    expect(fresh.status).toBe(202);
    expect(shape(taken)).toEqual(shape(fresh));
    expect(taken.body.invitation.grants).toEqual([
      { role: 'applicant', organisationId: w.orgA, organisationName: 'Hillfields Primary School' },
    ]);
    const members = ok(await w.admin.api.get(`/organisations/${w.orgA}/members`)).items;
    expect(members.map((m: { id: string }) => m.id)).not.toContain(w.applicantB.id);
  });

  it('POST /organisations/{id}/members: someone in the lead’s scope is added at once (201)', async () => {
    const appraiserA = ok(await w.admin.api.get(`/users/${w.appraiserA.id}`));
    const school = ok(
      await w.leadA.api.post('/organisations', {
        name: 'Moat House',
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
      }),
      201,
    ).id as string;
    const res = await w.leadA.api.post(`/organisations/${school}/members`, {
      email: appraiserA.email.toUpperCase(),
      name: 'Whatever',
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(w.appraiserA.id);
    expect(res.body.grants).toContainEqual({ role: 'applicant', organisationId: school });
  });

  it('POST /organisations/{id}/members: an admin adds an account elsewhere at once', async () => {
    const school = ok(
      await w.leadA.api.post('/organisations', {
        name: 'Whitley',
        streamId: w.schoolsStreamId,
        areaId: w.areaA,
      }),
      201,
    ).id as string;
    const person = await personInAreaB();
    const res = await w.admin.api.post(`/organisations/${school}/members`, {
      email: person.email,
      name: 'B',
    });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe(person.id);
  });
});

describe('the invited person accepts or declines', () => {
  /** A lead A invitation to a new address; the admin issues the new account a token. */
  async function invitedNewcomer(grants: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
    const email = address('invitee');
    const invitation = ok(
      await w.leadA.api.post('/users', { email, name: 'Invitee', grants, ...extra }),
      202,
    ).invitation;
    const id = ok(await w.admin.api.get(`/users?email=${encodeURIComponent(email)}`)).items[0].id as string;
    const token = ok(await w.admin.api.post(`/users/${id}/tokens`, {}), 201).token as string;
    return { id, email, invitation, api: client(t.app, token) };
  }

  it('lists their invitations, accepts one: its grants apply at once, to the token already in use', async () => {
    const person = await invitedNewcomer([{ role: 'applicant', organisationId: w.orgA }]);
    // A first read caches the principal without grants.
    expect(ok(await person.api.get('/me')).organisations).toEqual([]);
    expect((await person.api.get(`/organisations/${w.orgA}`)).status).toBe(404);
    const mine = ok(await person.api.get('/me/invitations')).items;
    expect(mine).toEqual([person.invitation]);

    const accepted = ok(await person.api.post(`/me/invitations/${person.invitation.id}/accept`));
    expect(accepted).toEqual({ ...person.invitation, status: 'accepted' });
    expect(ok(await person.api.get('/me')).organisations.map((o: { id: string }) => o.id)).toEqual([w.orgA]);
    expect((await person.api.get(`/organisations/${w.orgA}`)).status).toBe(200);
    // Now in lead A's scope.
    expect((await w.leadA.api.get(`/users/${person.id}`)).status).toBe(200);
    // Accepting again changes nothing; declining now is a conflict.
    expect(ok(await person.api.post(`/me/invitations/${person.invitation.id}/accept`)).status).toBe(
      'accepted',
    );
    expectProblem(await person.api.post(`/me/invitations/${person.invitation.id}/decline`), 409, 'conflict');
  });

  it('an appraiser invitation gives the offered profile, in the lead’s area', async () => {
    const person = await invitedNewcomer([{ role: 'appraiser' }], {
      appraiserProfile: { livedExperience: true, localGroup: true, cosStaff: false },
    });
    expect(person.invitation.grants).toEqual([
      {
        role: 'appraiser',
        appraiserProfile: { livedExperience: true, localGroup: true, cosStaff: false, homeAreaId: w.areaA },
      },
    ]);
    ok(await person.api.post(`/me/invitations/${person.invitation.id}/accept`));
    const me = ok(await person.api.get('/me'));
    expect(me.grants).toEqual([{ role: 'appraiser' }]);
    expect(me.appraiserProfile).toEqual({
      livedExperience: true,
      localGroup: true,
      cosStaff: false,
      homeAreaId: w.areaA,
    });
  });

  it('an account elsewhere sees the invitation under its own token and may decline it', async () => {
    const person = await personInAreaB();
    const sent = ok(
      await w.leadA.api.post(`/organisations/${w.orgA}/members`, { email: person.email, name: 'B' }),
      202,
    ).invitation;
    expect(ok(await person.api.get('/me/invitations')).items).toEqual([sent]);
    const declined = ok(await person.api.post(`/me/invitations/${sent.id}/decline`));
    expect(declined.status).toBe('declined');
    expect(ok(await person.api.post(`/me/invitations/${sent.id}/decline`)).status).toBe('declined');
    expectProblem(await person.api.post(`/me/invitations/${sent.id}/accept`), 409, 'conflict');
    expect(ok(await person.api.get('/me')).organisations.map((o: { id: string }) => o.id)).toEqual([w.orgB]);
    expect((await w.leadA.api.get(`/users/${person.id}`)).status).toBe(404);
  });

  it("someone else's invitation, or none, is not found", async () => {
    const person = await invitedNewcomer([{ role: 'applicant', organisationId: w.orgA }]);
    for (const other of [w.applicantA, w.leadA, w.admin]) {
      for (const answer of ['accept', 'decline']) {
        const res = await other.api.post(`/me/invitations/${person.invitation.id}/${answer}`);
        expectProblem(res, 404, 'not-found');
      }
      const theirs = ok(await other.api.get('/me/invitations')).items;
      expect(theirs.map((i: { id: string }) => i.id)).not.toContain(person.invitation.id);
    }
    expectProblem(await person.api.post(`/me/invitations/${randomUUID()}/accept`), 404, 'not-found');
    expectProblem(await person.api.post('/me/invitations/not-a-uuid/accept'), 400, 'validation-failed');
    // Still pending for its owner.
    expect(ok(await person.api.get('/me/invitations')).items[0].status).toBe('pending');
  });

  it('an expired invitation cannot be accepted', async () => {
    const person = await invitedNewcomer([{ role: 'applicant', organisationId: w.orgA }]);
    await t.database.db
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', person.invitation.id)
      .execute();
    expect(ok(await person.api.get('/me/invitations')).items[0].status).toBe('expired');
    expectProblem(await person.api.post(`/me/invitations/${person.invitation.id}/accept`), 409, 'conflict');
    expect(ok(await person.api.get('/me')).grants).toEqual([]);
  });

  it('an offer does not outlive its sender’s lead grant', async () => {
    const lead = await createUserWithToken(t.app, w.admin.api, {
      email: address('lead.leaving'),
      name: 'Leaving Lead',
      grants: [{ role: 'lead', areaId: w.areaA }],
    });
    const email = address('orphaned');
    const sent = ok(
      await lead.api.post('/users', {
        email,
        name: 'Orphan',
        grants: [{ role: 'applicant', organisationId: w.orgA }],
      }),
      202,
    ).invitation;
    await t.database.db.deleteFrom('grants').where('user_id', '=', lead.id).execute();
    const id = ok(await w.admin.api.get(`/users?email=${encodeURIComponent(email)}`)).items[0].id;
    const api = client(t.app, ok(await w.admin.api.post(`/users/${id}/tokens`, {}), 201).token);
    const res = await api.post(`/me/invitations/${sent.id}/accept`);
    expectProblem(res, 409, 'conflict');
    expect(res.body.detail).toMatch(/no longer stands/);
    expect(ok(await api.get('/me')).grants).toEqual([]);
  });
});

describe('e-mail addresses are checked strictly', () => {
  const BAD = [
    'a@foo-.org',
    'a@-foo.org',
    'a@foo.-bar.org',
    'a@foo..org',
    'a@.foo.org',
    'a@localhost',
    'a@foo.org.',
    'a@foo.1',
    '@foo.org',
    'a.@foo.org',
    '.a@foo.org',
    'a..b@foo.org',
    'a b@foo.org',
    'a@fo_o.org',
    `${'x'.repeat(65)}@foo.org`,
  ];

  it.each(BAD)('POST /users refuses %j with 400 naming body.email', async (email) => {
    const res = await w.admin.api.post('/users', { email, name: 'Bad', grants: [] });
    expectProblem(res, 400, 'validation-failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.email');
  });

  it.each(BAD)('POST /organisations/{id}/members refuses %j with 400', async (email) => {
    const res = await w.leadA.api.post(`/organisations/${w.orgA}/members`, { email, name: 'Bad' });
    expectProblem(res, 400, 'validation-failed');
  });

  it.each([
    ['  Mixed.Case+tag@Example.ORG ', 'mixed.case+tag@example.org'],
    ["o'brien@sub-domain.example.co.uk", "o'brien@sub-domain.example.co.uk"],
    ['x@a1.io', 'x@a1.io'],
  ])('accepts %j, stored trimmed and lower-cased as %j', async (given, stored) => {
    const res = await w.admin.api.post('/users', { email: given, name: 'Good', grants: [] });
    expect(res.status).toBe(201);
    expect(res.body.email).toBe(stored);
  });

  it('the first admin’s address is checked the same way', () => {
    expect(() => loadConfig({ BOOTSTRAP_ADMIN_EMAIL: 'root@box-.example' })).toThrow(ConfigError);
    expect(loadConfig({ BOOTSTRAP_ADMIN_EMAIL: ' Root@Example.org ' }).bootstrapAdminEmail).toBe(
      'root@example.org',
    );
  });
});

describe('the contract', () => {
  it('documents the 202 answers and the invitation endpoints, with named schemas', async () => {
    const doc = ok(await w.anonymous.get('/openapi.json'));
    type Operation = {
      responses: Record<string, { content: Record<string, { schema: { $ref?: string } }> }>;
    };
    const ref = (op: Operation, status: string) =>
      op.responses[status].content['application/json'].schema.$ref;
    expect(ref(doc.paths['/users'].post, '202')).toBe('#/components/schemas/InvitationSent');
    expect(ref(doc.paths['/organisations/{id}/members'].post, '202')).toBe(
      '#/components/schemas/InvitationSent',
    );
    expect(doc.components.schemas).toHaveProperty('Invitation');
    expect(doc.paths['/me/invitations'].get).toBeDefined();
    expect(ref(doc.paths['/me/invitations/{id}/accept'].post, '200')).toBe('#/components/schemas/Invitation');
    expect(doc.paths['/me/invitations/{id}/decline'].post).toBeDefined();
  });
});
