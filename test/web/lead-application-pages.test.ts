import { beforeAll, describe, expect, it } from '@jest/globals';
import { ukInstant } from '../../src/web/routes/lead-application.ts';
import { event, ok, panelOfThree, readyDraft, review, SCHOOL_CODES } from '../helpers/applications.ts';
import { emailOf, errorSummary, h1, type PageClient, pageText, usePagesWorld } from '../helpers/pages.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/**
 * The local lead's application page over HTTP (SPEC §9 "Local leads"): who may see it (the area's
 * lead and admins; anyone else gets the page-not-found page), each form's checks as an error summary
 * with what was typed, a stale page (412) shown afresh with what was typed, and the workflow's refusals
 * in plain words.
 */

const { t, w, signedIn: signedInAs } = usePagesWorld();

/** A page client signed in through the sign-in pages as this actor. */
const signedIn = async (actor: Actor) => signedInAs(await emailOf(actor));

/** The decision form's final judgement per criterion, as the page pre-fills it, with some changed. */
const finals = (changed: Record<string, string> = {}) => ({
  ...Object.fromEntries(SCHOOL_CODES.map((code) => [`final-${code}`, 'met'])),
  ...changed,
});
const versionOf = (html: string) => /name="version" value="(\d+)"/.exec(html)?.[1] as string;
const text = pageText;

let lead: PageClient;
let id: string;
let url: string;
let panel: Actor[];

beforeAll(async () => {
  id = await readyDraft(t.app, w);
  ok(await event(w.applicantA, id, { type: 'SUBMIT' }));
  url = `/lead/applications/${id}`;
  lead = await signedIn(w.leadA);
});

describe('who sees the lead’s application page', () => {
  it('the area’s lead and an admin see it; another area’s lead, the applicant and an appraiser get the not-found page', async () => {
    const page = await lead.get(url);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('Hillfields Primary School');
    expect(text(page.html)).toContain('Coventry');
    expect(text(page.html)).toContain('Submitted: waiting for your local lead to accept it');
    // The answers, with each file a download link through the pages' scoped route.
    expect(page.html).toContain('Our work on L1');
    expect(page.html).toMatch(new RegExp(`href="/apply/${id}/evidence/[0-9a-f-]{36}" download`));

    expect((await (await signedIn(w.admin)).get(url)).status).toBe(200);
    for (const other of [w.leadB, w.applicantA, w.appraiserA]) {
      const denied = await (await signedIn(other)).get(url);
      expect(denied.status).toBe(404);
      expect(h1(denied.html)).toBe('Page not found');
      expect(denied.html).not.toContain('Hillfields');
    }
    expect((await lead.get('/lead/applications/not-an-id')).status).toBe(404);
  });

  it('another area’s lead cannot post its forms either: the not-found page, nothing changed', async () => {
    const other = await signedIn(w.leadB);
    await other.get('/');
    const posted = await other.post(`${url}/accept`, { version: '1' });
    expect(posted.status).toBe(404);
    expect((await w.leadA.api.get(`/applications/${id}`)).body.state).toBe('submitted');
  });
});

describe('intake', () => {
  it('returning needs a reason: an error summary, and the form again', async () => {
    const page = await lead.get(url);
    const res = await lead.post(`${url}/return`, { version: versionOf(page.html), returnReason: '  ' });
    expect(res.status).toBe(400);
    expect(errorSummary(res.html)).toContain('Enter why you are returning the application');
    expect(res.html).toContain('href="#returnReason"');
  });

  it('a stale page (412) shows the latest page, says so, and keeps what was typed', async () => {
    const page = await lead.get(url);
    const res = await lead.post(`${url}/return`, {
      version: String(Number(versionOf(page.html)) - 1),
      returnReason: 'Please add the pupil council minutes',
    });
    expect(res.status).toBe(412);
    expect(text(res.html)).toContain('Someone else changed this application');
    expect(res.html).toContain('Please add the pupil council minutes');
    expect((await w.leadA.api.get(`/applications/${id}`)).body.state).toBe('submitted');
  });

  it('accepts', async () => {
    const page = await lead.get(url);
    const res = await lead.post(`${url}/accept`, { version: versionOf(page.html) });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${url}?done=accept#intake`);
    expect((await lead.get(`${url}?done=anything`)).html).not.toContain('leadApplication.');
    const after = await lead.get(res.location as string);
    expect(text(after.html)).toContain('The application has been accepted');
    expect(text(after.html)).toContain('Accepted: a panel is being formed to review it');
  });
});

describe('panel forming', () => {
  let member: Actor;
  let conflicted: Actor;
  let elsewhere: Actor;

  beforeAll(async () => {
    panel = await panelOfThree(t.app, w, 'lead-pages');
    member = await createUserWithToken(t.app, w.admin.api, {
      email: 'governor.appraiser@example.org',
      name: 'Governor Appraiser',
      grants: [{ role: 'appraiser' }, { role: 'applicant', organisationId: w.orgA }],
      appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
    });
    conflicted = await createUserWithToken(t.app, w.admin.api, {
      email: 'conflicted.appraiser@example.org',
      name: 'Conflicted Appraiser',
      grants: [{ role: 'appraiser' }],
      appraiserProfile: { livedExperience: false, localGroup: false, cosStaff: false, homeAreaId: w.areaA },
    });
    await t.database.db
      .insertInto('conflicts')
      .values({ user_id: conflicted.id, organisation_id: w.orgA, reason: 'My child attends' })
      .execute();
    elsewhere = await createUserWithToken(t.app, w.admin.api, {
      email: 'cardiff.appraiser@example.org',
      name: 'Cardiff Appraiser',
      grants: [{ role: 'appraiser' }],
      appraiserProfile: { livedExperience: true, localGroup: false, cosStaff: false, homeAreaId: w.areaB },
    });
  });

  it('lists the appraisers the lead may add, with their profiles, without members, conflicts or other areas', async () => {
    const page = await lead.get(url);
    expect(text(page.html)).toContain('Nobody is on the panel yet.');
    for (const p of panel) expect(page.html).toContain(`value="${p.id}"`);
    expect(text(page.html)).toContain(
      'Lived experience: Yes · Local group: No · City of Sanctuary staff: No · Home area: Coventry',
    );
    for (const excluded of [member, conflicted, elsewhere])
      expect(page.html).not.toContain(`value="${excluded.id}"`);
    // The guard's hints: size and lived experience.
    expect(text(page.html)).toContain('At least 3 members (it has 0)');
    expect(text(page.html)).toContain('A member with lived experience of seeking sanctuary');
  });

  it('adding nobody is an error summary; the workflow refuses someone it must (plain words)', async () => {
    const page = await lead.get(url);
    const none = await lead.post(`${url}/assign`, { version: versionOf(page.html) });
    expect(none.status).toBe(400);
    expect(errorSummary(none.html)).toContain('Choose an appraiser to add');
    const refused = await lead.post(`${url}/assign`, { version: versionOf(page.html), appraiser: member.id });
    expect(refused.status).toBe(422);
    expect(errorSummary(refused.html)).toContain('belongs to the applying organisation');
    // The same refusal in Welsh.
    await lead.get(`${url}?lang=cy`);
    const welsh = await lead.post(`${url}/assign`, { version: versionOf(page.html), appraiser: member.id });
    expect(errorSummary(welsh.html)).toContain("Mae'r person hwn yn perthyn i'r sefydliad sy'n gwneud cais");
    await lead.get(`${url}?lang=en`);
  });

  it('starting the review too early is refused with the guard’s reasons', async () => {
    const page = await lead.get(url);
    expect(page.html).not.toContain(`${url}/start-review`);
    const res = await lead.post(`${url}/start-review`, { version: versionOf(page.html) });
    expect(res.status).toBe(422);
    expect(errorSummary(res.html)).toContain('At least 3 members (it has 0)');
  });

  it('each change re-renders the hints; removing a member; then the review starts', async () => {
    for (const p of panel.slice(1)) {
      const page = await lead.get(url);
      const res = await lead.post(`${url}/assign`, { version: versionOf(page.html), appraiser: p.id });
      expect(res.status).toBe(303);
    }
    let page = await lead.get(url);
    expect(text(page.html)).toContain('At least 3 members (it has 2)');
    expect(text(page.html)).toContain('A member with lived experience of seeking sanctuary');
    expect(page.html).not.toContain('local City of Sanctuary group');

    const added = await lead.post(`${url}/assign`, { version: versionOf(page.html), appraiser: panel[0].id });
    expect(added.status).toBe(303);
    page = await lead.get(url);
    expect(text(page.html)).not.toContain('What the panel still needs');
    expect(page.html).toContain(`${url}/start-review`);

    const removed = await lead.post(`${url}/unassign`, {
      version: versionOf(page.html),
      member: panel[0].id,
    });
    expect(removed.status).toBe(303);
    page = await lead.get(url);
    expect(text(page.html)).toContain('At least 3 members (it has 2)');
    await lead.post(`${url}/assign`, { version: versionOf(page.html), appraiser: panel[0].id });

    page = await lead.get(url);
    const started = await lead.post(`${url}/start-review`, { version: versionOf(page.html) });
    expect(started.status).toBe(303);
    expect((await w.leadA.api.get(`/applications/${id}`)).body.state).toBe('appraisal.reviewing');
  });

  it('an appraiser on the panel gets the not-found page', async () => {
    const appraiser = await signedIn(panel[0]);
    expect((await appraiser.get(url)).status).toBe(404);
  });
});

describe('reviews, feedback, meeting and decision', () => {
  beforeAll(async () => {
    ok(await event(panel[0], id, review('met')));
    ok(await event(panel[1], id, review('met')));
    const mixed = review('met');
    (mixed.criteria as Record<string, { judgement: string; comment: string }>).E2 = {
      judgement: 'not_yet',
      comment: 'Little pupil voice yet',
    };
    ok(await event(panel[2], id, mixed));
  });

  it('shows the reviews side by side with the tally, and pre-fills the feedback', async () => {
    const page = await lead.get(url);
    const body = text(page.html);
    expect(body).toContain('The reviews (round 1)');
    expect(body).toContain('3 of 3 met');
    expect(body).toContain('2 of 3 met');
    expect(body).toContain('Little pupil voice yet');
    // E2 is not met by everyone: the feedback form proposes further evidence, with the comments.
    expect(page.html).toMatch(/name="judgement-E2" type="radio" value="further_evidence" checked/);
    expect(page.html).toMatch(/name="judgement-L1" type="radio" value="met" checked/);
    // The comments, unsigned: the organisation reads the panel's feedback, not who said what.
    expect(page.html).toMatch(
      /<textarea[^>]*id="feedback-E2"[^>]*>E2: met\nLittle pupil voice yet<\/textarea>/,
    );
  });

  it('the feedback form checks each judgement and keeps what was typed', async () => {
    const page = await lead.get(url);
    const res = await lead.post(`${url}/feedback`, {
      version: versionOf(page.html),
      'feedback-L1': 'Strong staff training',
      questions: 'How do pupils shape the work?',
    });
    expect(res.status).toBe(400);
    expect(errorSummary(res.html)).toContain('Choose met or further evidence needed for L1');
    expect(res.html).toContain('href="#judgement-L1"');
    expect(res.html).toContain('Strong staff training');
    expect(res.html).toContain('How do pupils shape the work?');
  });

  it('sends the feedback with its questions', async () => {
    const page = await lead.get(url);
    const form: Record<string, string> = {
      version: versionOf(page.html),
      questions: 'How do pupils shape the work?\n\nWho leads it?',
    };
    for (const code of SCHOOL_CODES) {
      form[`judgement-${code}`] = 'met';
      form[`feedback-${code}`] = `Good work on ${code}`;
    }
    const res = await lead.post(`${url}/feedback`, form);
    expect(res.status).toBe(303);
    const view = (await w.leadA.api.get(`/applications/${id}`)).body;
    expect(view.state).toBe('awaitingResponse');
    expect(view.questions).toEqual(['How do pupils shape the work?', 'Who leads it?']);
    ok(await event(w.applicantA, id, { type: 'RESPOND', answers: ['The pupil council', 'Our deputy head'] }));
  });

  it('the meeting forms check the date, the mode and the place', async () => {
    const page = await lead.get(url);
    expect(text(page.html)).toContain('The pupil council');
    const bad = await lead.post(`${url}/schedule`, {
      version: versionOf(page.html),
      'meeting-day': '31',
      'meeting-month': '2',
      'meeting-year': '2030',
      'meeting-time': '25:00',
      mode: 'in_person',
      location: '',
    });
    expect(bad.status).toBe(400);
    const summaryText = errorSummary(bad.html);
    expect(summaryText).toContain('Enter a real date and a time such as 14:30 for the meeting');
    expect(summaryText).toContain('Enter where the meeting will be held');
    expect(bad.html).toContain('href="#meeting-day"');

    const year = new Date().getUTCFullYear() + 1;
    const scheduled = await lead.post(`${url}/schedule`, {
      version: versionOf(page.html),
      'meeting-day': '12',
      'meeting-month': '3',
      'meeting-year': String(year),
      'meeting-time': '14:30',
      mode: 'in_person',
      location: 'The school hall',
    });
    expect(scheduled.status).toBe(303);
    const meeting = (await w.leadA.api.get(`/applications/${id}`)).body.meeting;
    // 14:30 in London in March (GMT) is 14:30 UTC.
    expect(meeting.at).toBe(`${year}-03-12T14:30:00.000Z`);

    const again = await lead.get(url);
    expect(text(again.html)).toContain('Change the meeting');
    expect(again.html).toContain('value="The school hall"');
    const future = await lead.post(`${url}/record`, {
      version: versionOf(again.html),
      'held-day': '1',
      'held-month': '1',
      'held-year': String(year + 1),
      notes: 'Met the pupil council',
    });
    expect(future.status).toBe(400);
    expect(errorSummary(future.html)).toContain('A meeting can only be recorded once it has been held');
    // Today (its UTC date's start is never ahead of the UK's clock).
    const now = new Date();
    const recorded = await lead.post(`${url}/record`, {
      version: versionOf(again.html),
      'held-day': String(now.getUTCDate()),
      'held-month': String(now.getUTCMonth() + 1),
      'held-year': String(now.getUTCFullYear()),
      notes: 'Met the pupil council',
    });
    expect(recorded.status).toBe(303);
    expect((await w.leadA.api.get(`/applications/${id}`)).body.meeting.notes).toBe('Met the pupil council');
  });

  it('the decision form asks for an outcome, reasons and, for further evidence, requests and a due date', async () => {
    const page = await lead.get(url);
    const empty = await lead.post(`${url}/decide`, { version: versionOf(page.html) });
    expect(empty.status).toBe(400);
    expect(errorSummary(empty.html)).toContain('Choose the decision');
    expect(errorSummary(empty.html)).toContain('Enter the reasons for the decision');
    const further = await lead.post(`${url}/decide`, {
      version: versionOf(page.html),
      outcome: 'further_evidence',
      rationale: 'Nearly there',
      'due-day': '1',
      'due-month': '1',
      'due-year': '2001',
    });
    expect(further.status).toBe(400);
    expect(errorSummary(further.html)).toContain(
      'Say what further evidence is needed for at least one criterion',
    );
    expect(errorSummary(further.html)).toContain('The due date must be in the future');
    // The workflow's own refusal: an award with a criterion not met.
    const award = await lead.post(`${url}/decide`, {
      version: versionOf(page.html),
      outcome: 'award',
      rationale: 'Well done',
      ...finals({ 'final-E2': 'further_evidence' }),
    });
    expect(award.status).toBe(422);
    expect(errorSummary(award.html)).toContain('Criterion E2 is not met, so the award cannot be made');
    expect(award.html).toContain('Well done');
  });

  it('asks for further evidence, then extends the due date', async () => {
    const page = await lead.get(url);
    const year = new Date().getUTCFullYear() + 1;
    const res = await lead.post(`${url}/decide`, {
      version: versionOf(page.html),
      outcome: 'further_evidence',
      rationale: 'Nearly there',
      ...finals({ 'final-E2': 'further_evidence' }),
      'request-E2': 'Minutes of the pupil council',
      'due-day': '30',
      'due-month': '6',
      'due-year': String(year),
    });
    expect(res.status).toBe(303);
    let view = (await w.leadA.api.get(`/applications/${id}`)).body;
    expect(view.state).toBe('furtherEvidenceRequested');
    expect(view.decision.requests).toEqual([{ criterion: 'E2', request: 'Minutes of the pupil council' }]);

    const after = await lead.get(url);
    expect(text(after.html)).toContain('Minutes of the pupil council');
    const bad = await lead.post(`${url}/extend`, { version: versionOf(after.html), 'extend-day': 'x' });
    expect(bad.status).toBe(400);
    expect(errorSummary(bad.html)).toContain('Enter a real due date');
    const extended = await lead.post(`${url}/extend`, {
      version: versionOf(after.html),
      'extend-day': '31',
      'extend-month': '7',
      'extend-year': String(year),
    });
    expect(extended.status).toBe(303);
    view = (await w.leadA.api.get(`/applications/${id}`)).body;
    expect(view.decision.dueBy.startsWith(`${year}-07-31`)).toBe(true);
  });

  it('withdrawing needs a reason and a confirmation; a form for a step already past is refused in plain words', async () => {
    const page = await lead.get(url);
    const unconfirmed = await lead.post(`${url}/withdraw`, {
      version: versionOf(page.html),
      withdrawReason: 'The school is closing',
    });
    expect(unconfirmed.status).toBe(400);
    expect(errorSummary(unconfirmed.html)).toContain(
      'Confirm that you understand withdrawing cannot be undone',
    );
    expect(unconfirmed.html).toContain('The school is closing');

    const late = await lead.post(`${url}/accept`, { version: versionOf(page.html) });
    expect(late.status).toBe(409);
    expect(errorSummary(late.html)).toContain('This cannot be done now');

    const withdrawn = await lead.post(`${url}/withdraw`, {
      version: versionOf(page.html),
      withdrawReason: 'The school is closing',
      confirm: 'yes',
    });
    expect(withdrawn.status).toBe(303);
    const final = await lead.get(url);
    expect(text(final.html)).toContain('Withdrawn: The school is closing');
    // The history in plain words, the lead seeing who changed the panel.
    expect(text(final.html)).toContain('An appraiser was added to the panel');
    expect(text(final.html)).toContain('Feedback sent to the organisation');
    expect(text(final.html)).toContain('Application withdrawn');
  });

  it('reads in Welsh', async () => {
    const page = await lead.get(`${url}?lang=cy`);
    const welsh = await lead.get(page.location as string);
    expect(welsh.html).toContain('lang="cy"');
    expect(text(welsh.html)).toContain('Beth sydd wedi digwydd');
    await lead.get(`${url}?lang=en`);
  });
});

describe('dates typed in the GOV.UK pattern', () => {
  it('name the instant in the UK, summer time included, and nothing for a day or time that does not exist', () => {
    expect(ukInstant('12', '3', '2030', '14:30')?.toISOString()).toBe('2030-03-12T14:30:00.000Z');
    expect(ukInstant('1', '7', '2030', '14:30')?.toISOString()).toBe('2030-07-01T13:30:00.000Z');
    expect(ukInstant('01', '07', '2030', '00:00')?.toISOString()).toBe('2030-06-30T23:00:00.000Z');
    expect(ukInstant('31', '2', '2030')).toBeNull();
    expect(ukInstant('1', '1', '2030', '25:00')).toBeNull();
    expect(ukInstant('x', '1', '2030')).toBeNull();
    expect(ukInstant('', '', '')).toBeNull();
  });
});
