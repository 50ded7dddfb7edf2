import type { FastifyInstance } from 'fastify';
import type { Db } from '../../src/db/index.ts';
import { startApplication } from '../../src/workflow/applications.ts';
import type { Res } from './client.ts';
import { multipart, pdf } from './multipart.ts';
import { type Actor, createUserWithToken, type World } from './world.ts';

/** The seeded Schools of Sanctuary criteria, in order. */
export const SCHOOL_CODES = ['L1', 'L2', 'E1', 'E2', 'E3', 'S1', 'S2', 'S3'];

/** The body of a response with the expected status, or an error naming what came instead. */
export function ok(res: Res, status = 200): any {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Sends a workflow event to an application as `actor`. */
export function event(
  actor: Actor,
  applicationId: string,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  return actor.api.post(`/applications/${applicationId}/events`, body, headers);
}

/** A SUBMIT_REVIEW covering every school criterion with one judgement. */
export function review(judgement: 'met' | 'not_yet' = 'met') {
  return {
    type: 'SUBMIT_REVIEW',
    criteria: Object.fromEntries(SCHOOL_CODES.map((c) => [c, { judgement, comment: `${c}: ${judgement}` }])),
    summary: 'A welcoming school',
  };
}

/** Uploads one small PDF (distinct per `label`) under `codes` as `actor`. */
export async function uploadEvidence(
  app: FastifyInstance,
  actor: Actor,
  applicationId: string,
  codes: string[],
  label: string,
): Promise<Res> {
  const { body, contentType } = multipart({ criteria: codes.join(',') }, [
    { filename: `${label}.pdf`, content: pdf(label), contentType: 'application/pdf' },
  ]);
  const res = await app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { authorization: `Bearer ${actor.token}`, 'content-type': contentType },
    payload: body,
  });
  const text = res.body;
  const json = String(res.headers['content-type'] ?? '').includes('json') && text ? JSON.parse(text) : text;
  return { status: res.statusCode, body: json, headers: res.headers as Record<string, unknown>, text };
}

let panelCounter = 0;
/** Three appraisers in area A; the first has lived experience of seeking sanctuary. */
export async function panelOfThree(app: FastifyInstance, w: World, label: string): Promise<Actor[]> {
  const n = ++panelCounter;
  const members: Actor[] = [];
  for (let i = 0; i < 3; i++) {
    members.push(
      await createUserWithToken(app, w.admin.api, {
        email: `panel.${label}.${n}.${i}@example.org`,
        name: `Panel ${label} ${i + 1}`,
        grants: [{ role: 'appraiser' }],
        appraiserProfile: {
          livedExperience: i === 0,
          localGroup: i === 1,
          cosStaff: false,
          homeAreaId: w.areaA,
        },
      }),
    );
  }
  return members;
}

/** A draft of organisation A, pledge signed, every criterion answered and evidenced: ready to SUBMIT. */
export async function readyDraft(app: FastifyInstance, w: World): Promise<string> {
  const id = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201).id as string;
  const pledge = await w.applicantA.api.post(`/organisations/${w.orgA}/pledge`, {
    signatoryName: 'Ms Head',
    signatoryRole: 'Headteacher',
  });
  if (![200, 201, 409].includes(pledge.status)) ok(pledge, 201);
  for (const code of SCHOOL_CODES) {
    ok(await w.applicantA.api.put(`/applications/${id}/answers/${code}`, { text: `Our work on ${code}` }));
  }
  ok(await uploadEvidence(app, w.applicantA, id, SCHOOL_CODES, `evidence-${id}`), 201);
  return id;
}

/** From `submitted` to `appraisal.reviewing` with a new panel of three; returns the panel. */
export async function toReviewing(
  app: FastifyInstance,
  w: World,
  applicationId: string,
  label: string,
): Promise<Actor[]> {
  ok(await event(w.leadA, applicationId, { type: 'ACCEPT' }));
  const panel = await panelOfThree(app, w, label);
  for (const member of panel)
    ok(await event(w.leadA, applicationId, { type: 'ASSIGN_APPRAISER', userId: member.id }));
  ok(await event(w.leadA, applicationId, { type: 'START_REVIEW' }));
  return panel;
}

/** A draft application created as `POST /applications` would, without going through HTTP. */
export async function createDraftApplication(
  db: Db,
  input: { organisationId: string; streamId: string; createdBy: string },
): Promise<{ id: string; criteriaCodes: string[] }> {
  return db.transaction().execute(async (trx) => {
    const { id, criteriaCodes } = await startApplication(trx, { ...input, kind: 'initial' });
    return { id, criteriaCodes };
  });
}

let schoolCounter = 0;
/**
 * A draft of a new school in area A, named `label` and a number, with applicant A as a member: for
 * tests that need many drafts (an organisation has one open application at a time).
 */
export async function draftOfNewSchool(db: Db, w: World, label = 'School'): Promise<string> {
  const org = await w.leadA.api.post('/organisations', {
    name: `${label} ${++schoolCounter}`,
    streamId: w.schoolsStreamId,
    areaId: w.areaA,
  });
  const member = await w.leadA.api.post(`/organisations/${org.body.id}/members`, { userId: w.applicantA.id });
  if (org.status !== 201 || member.status >= 300)
    throw new Error(`setup: ${JSON.stringify([org.body, member.body])}`);
  const { id } = await createDraftApplication(db, {
    organisationId: org.body.id,
    streamId: w.schoolsStreamId,
    createdBy: w.applicantA.id,
  });
  return id;
}
