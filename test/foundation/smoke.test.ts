import { describe, expect, it } from '@jest/globals';
import { useWorld } from '../helpers/setup.ts';

const { w } = useWorld();

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
