import type { FastifyInstance } from 'fastify';
import { event, ok, panelOfThree, review, SCHOOL_CODES, uploadEvidence } from './applications.ts';
import type { Actor, World } from './world.ts';

let awardCounter = 0;
/**
 * A current award for an organisation, through the API: its member applies (pledge, answers, evidence,
 * submit), an admin runs the appraisal (admins act in every area) and awards it. Returns the ids.
 */
export async function awardFor(
  app: FastifyInstance,
  w: World,
  organisationId: string,
  member: Actor,
): Promise<{ applicationId: string; awardId: string }> {
  const n = ++awardCounter;
  const pledge = await member.api.post(`/organisations/${organisationId}/pledge`, {
    signatoryName: 'Ms Head',
    signatoryRole: 'Headteacher',
  });
  if (![201, 409].includes(pledge.status)) ok(pledge, 201);
  const id = ok(await member.api.post('/applications', { organisationId }), 201).id as string;
  for (const code of SCHOOL_CODES)
    ok(await member.api.put(`/applications/${id}/answers/${code}`, { text: `Our work on ${code}` }));
  ok(await uploadEvidence(app, member, id, SCHOOL_CODES, `award-evidence-${n}-${id}`), 201);
  ok(await event(member, id, { type: 'SUBMIT' }));
  ok(await event(w.admin, id, { type: 'ACCEPT' }));
  const panel = await panelOfThree(app, w, `award${n}`);
  for (const m of panel) ok(await event(w.admin, id, { type: 'ASSIGN_APPRAISER', userId: m.id }));
  ok(await event(w.admin, id, { type: 'START_REVIEW' }));
  for (const m of panel) ok(await event(m, id, review('met')));
  const decided = ok(
    await event(w.admin, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }),
  );
  return { applicationId: id, awardId: decided.awardId as string };
}
