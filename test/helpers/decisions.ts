import type { FastifyInstance } from 'fastify';
import { event, ok, readyDraft, review, toReviewing, uploadEvidence } from './applications.ts';
import type { Actor, World } from './world.ts';

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/**
 * An application of organisation A taken to a DECIDE with further evidence (E2): submitted, a panel
 * of three has reviewed round 1, and the school is asked for more. Returns its id, the panel and the
 * id of its first evidence file.
 */
export async function toFurtherEvidence(
  app: FastifyInstance,
  w: World,
  label: string,
): Promise<{ id: string; panel: Actor[]; evidenceId: string }> {
  const id = await readyDraft(app, w);
  const evidenceId = ok(await w.applicantA.api.get(`/applications/${id}/evidence`)).items[0].id as string;
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  const panel = await toReviewing(app, w, id, label);
  for (const member of panel) ok(await event(member, id, review('met')));
  ok(
    await event(w.leadA, id, {
      type: 'DECIDE',
      outcome: 'further_evidence',
      rationale: 'Pupil voice needs showing',
      requests: [{ criterion: 'E2', request: 'Minutes of the pupil council' }],
      dueBy: inDays(60),
    }),
  );
  return { id, panel, evidenceId };
}

/** From further evidence requested: new evidence, RESUBMIT, round 2 reviewed by the same panel, the award. */
export async function resubmitAndAward(app: FastifyInstance, w: World, id: string, panel: Actor[]) {
  ok(await uploadEvidence(app, w.applicantA, id, ['E2'], `minutes-${id}`), 201);
  ok(await event(w.applicantA, id, { type: 'RESUBMIT' }));
  for (const member of panel) ok(await event(member, id, review('met')));
  return ok(await event(w.leadA, id, { type: 'DECIDE', outcome: 'award', rationale: 'Every criterion met' }));
}
