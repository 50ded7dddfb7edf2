import { multipart, pdf } from '../test/helpers/multipart.ts';
import { api, withClient } from './lib.ts';

export type MeetingSeed = {
  leadToken: string;
  /** Applications in the `meeting` state, where SCHEDULE_MEETING may be repeated. */
  ids: string[];
};

const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/**
 * One application taken through the real API from draft to `meeting` (pledge, answers, evidence,
 * submission, a panel of three, reviews, feedback, response), then cloned in SQL `count - 1` times
 * with its answers, so load spreads over many rows as it would in production.
 */
export async function seedMeetingApplications(
  baseUrl: string,
  adminToken: string,
  databaseUrl: string,
  count: number,
): Promise<MeetingSeed> {
  const admin = api(baseUrl, adminToken);
  const streams = await admin('GET', '/streams');
  const streamId = streams.items.find((s: { slug: string }) => s.slug === 'schools').id as string;
  const areaId = (await admin('POST', '/areas', { name: 'Bench City', nation: 'england', active: true }))
    .id as string;

  const userWithToken = async (by: ReturnType<typeof api>, body: Record<string, unknown>) => {
    const user = await by('POST', '/users', body);
    const token = await by('POST', `/users/${user.id}/tokens`, {});
    return { id: user.id as string, call: api(baseUrl, token.token), token: token.token as string };
  };
  const lead = await userWithToken(admin, {
    email: 'lead@bench.example',
    name: 'Bench Lead',
    grants: [{ role: 'lead', areaId }],
  });
  const orgId = (
    await lead.call('POST', '/organisations', { name: 'Bench Primary', streamId, areaId, phase: 'primary' })
  ).id as string;
  // Only an admin creates users with grants at once and issues someone else's token (SPEC §3, §5).
  const applicant = await userWithToken(admin, {
    email: 'applicant@bench.example',
    name: 'Bench Applicant',
    grants: [{ role: 'applicant', organisationId: orgId }],
  });
  await applicant.call('POST', `/organisations/${orgId}/pledge`, {
    signatoryName: 'Ms Head',
    signatoryRole: 'Headteacher',
  });
  const draft = await applicant.call('POST', '/applications', { organisationId: orgId });
  const id = draft.id as string;
  const codes = (draft.criteria as { code: string }[]).map((c) => c.code);
  for (const code of codes)
    await applicant.call('PUT', `/applications/${id}/answers/${code}`, { text: `Our work on ${code}` });
  const upload = multipart({ criteria: codes.join(',') }, [
    { filename: 'evidence.pdf', content: pdf('bench'), contentType: 'application/pdf' },
  ]);
  await applicant.call('POST', `/applications/${id}/evidence`, new Uint8Array(upload.body), {
    'content-type': upload.contentType,
  });

  const event = (who: { call: ReturnType<typeof api> }, body: Record<string, unknown>) =>
    who.call('POST', `/applications/${id}/events`, body);
  await event(applicant, { type: 'SUBMIT' });
  await event(lead, { type: 'ACCEPT' });
  const panel = [];
  for (let i = 0; i < 3; i++) {
    panel.push(
      await userWithToken(admin, {
        email: `appraiser${i}@bench.example`,
        name: `Bench Appraiser ${i}`,
        grants: [{ role: 'appraiser' }],
        appraiserProfile: {
          livedExperience: i === 0,
          localGroup: i === 1,
          cosStaff: false,
          homeAreaId: areaId,
        },
      }),
    );
  }
  for (const member of panel) await event(lead, { type: 'ASSIGN_APPRAISER', userId: member.id });
  await event(lead, { type: 'START_REVIEW' });
  for (const member of panel) {
    await event(member, {
      type: 'SUBMIT_REVIEW',
      criteria: Object.fromEntries(codes.map((c) => [c, { judgement: 'met', comment: `${c} is met` }])),
      summary: 'A welcoming school',
    });
  }
  await event(lead, {
    type: 'SEND_FEEDBACK',
    criteria: Object.fromEntries(codes.map((c) => [c, { judgement: 'met', feedback: `About ${c}` }])),
    questions: ['How do pupils shape the work?'],
  });
  const atMeeting = await event(applicant, { type: 'RESPOND', answers: ['Through the pupil council'] });
  if (atMeeting.state !== 'meeting')
    throw new Error(`seed: expected the meeting state, got ${atMeeting.state}`);
  await event(lead, { type: 'SCHEDULE_MEETING', at: inFuture(7), mode: 'online' });

  const ids = await withClient(databaseUrl, async (c) => {
    const { rows: columns } = await c.query(
      `select column_name from information_schema.columns where table_name = 'applications' and column_name <> 'id' order by ordinal_position`,
    );
    const names = columns.map((r: { column_name: string }) => r.column_name);
    const list = names.map((n: string) => `"${n}"`).join(', ');
    const values = names.map((n: string) => (n === 'organisation_id' ? 'orgs.id' : `a."${n}"`)).join(', ');
    // One organisation per clone: at most one open application per organisation and stream.
    const { rows } = await c.query(
      `with orgs as (
         insert into organisations (name, stream_id, area_id, phase)
         select o.name || ' ' || g, o.stream_id, o.area_id, o.phase from organisations o, generate_series(2, $2) g where o.id = $3
         returning id
       ), clones as (
         insert into applications (${list}) select ${values} from applications a, orgs where a.id = $1 returning id
       ), answers as (
         insert into application_answers (application_id, code, text, updated_by, updated_at)
         select clones.id, a.code, a.text, a.updated_by, a.updated_at from clones cross join application_answers a where a.application_id = $1
       )
       select id from clones`,
      [id, count, orgId],
    );
    await c.query('analyze');
    return rows.map((r: { id: string }) => r.id);
  });
  return { leadToken: lead.token, ids: [id, ...ids] };
}

export const scheduleMeetingBody = () =>
  JSON.stringify({ type: 'SCHEDULE_MEETING', at: inFuture(7), mode: 'online' });
