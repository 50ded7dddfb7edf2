import { beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/** SPEC §3 privacy across areas and roles: what leads, appraisers and schools may reach and see. */

const { t, w } = useWorld();
let id: string;
let visitor: Actor; // an appraiser of area B, on a panel in area A
let panel: Actor[];
beforeAll(async () => {
  visitor = await createUserWithToken(t.app, w.admin.api, {
    email: 'visitor@example.org',
    name: 'Visiting Appraiser',
    grants: [{ role: 'appraiser' }],
    appraiserProfile: { livedExperience: true, localGroup: false, cosStaff: false, homeAreaId: w.areaB },
  });
  const plain = async (n: number) =>
    createUserWithToken(t.app, w.admin.api, {
      email: `plain${n}@example.org`,
      name: `Plain ${n}`,
      grants: [{ role: 'appraiser' }],
      appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
    });
  panel = [visitor, await plain(1), await plain(2)];
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  ok(await event(w.leadA, id, { type: 'ACCEPT' }));
  // A credential is personal: even before the visitor joins a panel in area A, their own lead may
  // not issue them a token (it would reach wherever the visitor's grants later grow).
  expect((await w.leadB.api.post(`/users/${visitor.id}/tokens`, {})).status).toBe(403);
  // An appraiser of area B joins area A's panel through an admin: lead A assigns only their own.
  ok(await event(w.admin, id, { type: 'ASSIGN_APPRAISER', userId: visitor.id }));
  for (const m of panel.slice(1)) ok(await event(w.leadA, id, { type: 'ASSIGN_APPRAISER', userId: m.id }));
  ok(await event(w.leadA, id, { type: 'START_REVIEW' }));
});

describe('a lead cannot reach beyond their areas through someone else’s token', () => {
  it('refuses a token for an appraiser of theirs who sits on another area’s panel', async () => {
    const res = await w.leadB.api.post(`/users/${visitor.id}/tokens`, {});
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await w.leadB.api.get(`/users/${visitor.id}/tokens`)).status).toBe(403);
    expect((await w.leadB.api.get(`/applications/${id}`)).status).toBe(404);
    expect((await w.admin.api.post(`/users/${visitor.id}/tokens`, {})).status).toBe(201);
  });
});

describe('history as each role sees it', () => {
  it('the panel-composition warning is for leads only', async () => {
    const warning = (items: { type: string; payload: Record<string, unknown> }[]) =>
      items.find((e) => e.type === 'START_REVIEW')?.payload.warnings;
    expect(warning(ok(await w.leadA.api.get(`/applications/${id}/history`)).items)).toEqual([
      expect.stringMatching(/local/i),
    ]);
    expect(warning(ok(await w.applicantA.api.get(`/applications/${id}/history`)).items)).toBeUndefined();
    expect(warning(ok(await panel[1].api.get(`/applications/${id}/history`)).items)).toBeUndefined();
  });

  it('a declared conflict is an anonymous panel change to the school and the panel, named to the lead', async () => {
    ok(await event(panel[2], id, { type: 'DECLARE_CONFLICT', reason: 'My child attends' }));
    const lastLine = async (api: Actor['api']) =>
      ok(await api.get(`/applications/${id}/history`)).items.at(-1);
    const lead = await lastLine(w.leadA.api);
    expect(lead).toMatchObject({
      type: 'DECLARE_CONFLICT',
      actorId: panel[2].id,
      payload: { reason: 'My child attends' },
    });
    const school = await lastLine(w.applicantA.api);
    expect(school).toMatchObject({ type: 'PANEL_CHANGED', actorId: null, payload: {} });
    const colleague = await lastLine(panel[1].api);
    expect(colleague).toMatchObject({ type: 'PANEL_CHANGED', actorId: null, payload: {} });
  });
});

describe('fellow members of an organisation', () => {
  it('see each other, but not appraiser profiles nor grants elsewhere', async () => {
    // An applicant of school A who is also an appraiser and a member of school B.
    const both = await createUserWithToken(t.app, w.admin.api, {
      email: 'both@example.org',
      name: 'Both Hats',
      grants: [
        { role: 'applicant', organisationId: w.orgA },
        { role: 'applicant', organisationId: w.orgB },
        { role: 'appraiser' },
      ],
      appraiserProfile: { livedExperience: true, localGroup: true, cosStaff: false, homeAreaId: w.areaB },
    });
    const members = ok(await w.applicantA.api.get(`/organisations/${w.orgA}/members`)).items;
    const seen = members.find((m: { id: string }) => m.id === both.id);
    expect(seen.appraiserProfile).toBeNull();
    expect(seen.grants).toEqual([{ role: 'applicant', organisationId: w.orgA }]);
    const byLead = ok(await w.leadA.api.get(`/users/${both.id}`));
    expect(byLead.grants).toEqual(
      expect.arrayContaining([{ role: 'applicant', organisationId: w.orgA }, { role: 'appraiser' }]),
    );
    expect(byLead.grants).not.toContainEqual({ role: 'applicant', organisationId: w.orgB });
    expect(byLead.appraiserProfile.livedExperience).toBe(true);
    // A lead never issues someone else's token.
    expect((await w.leadA.api.post(`/users/${both.id}/tokens`, {})).status).toBe(403);
  });
});
