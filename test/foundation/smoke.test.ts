import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createWorld, type World } from '../helpers/world.ts';

let t: TestApp;
let w: World;
beforeAll(async () => {
  t = await startTestApp();
  w = await createWorld(t.app, t.database.db);
});
afterAll(() => t.close());

describe('a new network, driven as an admin would', () => {
  it('each role sees its own slice of organisations', async () => {
    const all = await w.admin.api.get('/organisations');
    expect(all.body.items.map((o: { id: string }) => o.id).sort()).toEqual([w.orgA, w.orgB].sort());
    const lead = await w.leadA.api.get('/organisations');
    expect(lead.body.items.map((o: { id: string }) => o.id)).toEqual([w.orgA]);
    const applicant = await w.applicantB.api.get('/organisations');
    expect(applicant.body.items.map((o: { id: string }) => o.id)).toEqual([w.orgB]);
    expect((await w.leadA.api.get(`/organisations/${w.orgB}`)).status).toBe(404);
  });
});
