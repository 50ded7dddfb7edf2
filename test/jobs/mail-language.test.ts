import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pageLinks } from '../../src/notifications/links.ts';
import { type MessageContext, renderBodies, renderEventMessage } from '../../src/notifications/messages.ts';
import { event, ok, readyDraft, review, toReviewing } from '../helpers/applications.ts';
import { type ReceivedMail, shift, startSmtpServer, tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';
import { type Actor, createUserWithToken } from '../helpers/world.ts';

/**
 * E-mails in the recipient's language, linking to the page they are about (SPEC §9, §10): each
 * notification is written, when its row is, in the language its person chose (users.locale; English
 * when none), and links to /applications/{id}, /awards/{id} or, for a digest, / under PUBLIC_URL.
 */

const PUBLIC_URL = 'https://awards.example.org/sanctuary';
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const { t, w } = useWorld(async () => {
  smtp = await startSmtpServer();
  return { ALLOW_CLOCK_OVERRIDE: '1', SMTP_URL: smtp.url, PUBLIC_URL };
});
afterAll(async () => {
  await smtp.close();
});

const emailOf = new Map<string, string>();
let english: Actor;
beforeAll(async () => {
  english = await createUserWithToken(t.app, w.admin.api, {
    email: 'tom.hughes@hillfields.example.org',
    name: 'Tom Hughes',
    grants: [{ role: 'applicant', organisationId: w.orgA }],
  });
  for (const a of [w.applicantA, w.leadA, english]) emailOf.set(a.id, ok(await a.api.get('/me')).email);
  // Applicant A and Lead A read Welsh; Tom has chosen no language (English).
  await t.database.db
    .updateTable('users')
    .set({ locale: 'cy' })
    .where('id', 'in', [w.applicantA.id, w.leadA.id])
    .execute();
});

const mailsTo = (actor: Actor, from = 0) =>
  smtp.mails.slice(from).filter((m: ReceivedMail) => m.to.includes(emailOf.get(actor.id) as string));
/** Each notification's subject and text, as GET /me/notifications shows them (newest first). */
const notificationsOf = async (actor: Actor) =>
  ok(await actor.api.get('/me/notifications')).items as {
    eventType: string;
    subject: string;
    text: string;
  }[];

describe('e-mails in the recipient’s language, linking to their page', () => {
  const start = new Date();
  let applicationId: string;
  let second: string;

  it('a Welsh-speaking applicant is told in Welsh, an English one in English, both linking to /applications/{id}', async () => {
    applicationId = await readyDraft(t.app, w);
    const from = smtp.mails.length;
    // Tom submits: Applicant A (Welsh) and the lead (Welsh) are told; Tom is not told of his own act.
    ok(await event(english, applicationId, { type: 'SUBMIT' }));
    ok(await event(w.leadA, applicationId, { type: 'ACCEPT' }));
    await tick(t.database.db, t.config, new Date());
    const page = `${PUBLIC_URL}/applications/${applicationId}`;

    expect(mailsTo(w.applicantA, from).map((m) => m.subject)).toEqual([
      "Mae eich cais am Wobr Noddfa wedi'i gyflwyno",
      "Mae eich cais wedi'i dderbyn i'w arfarnu",
    ]);
    expect(mailsTo(english, from).map((m) => m.subject)).toEqual([
      'Your application was accepted for appraisal',
    ]);
    expect(mailsTo(w.leadA, from).map((m) => m.subject)).toEqual([
      'Cais newydd gan Hillfields Primary School',
    ]);
    for (const mail of [...mailsTo(w.applicantA, from), ...mailsTo(english, from)])
      expect(mail.raw.replace(/=\r?\n/g, '')).toContain(page);

    const [accepted, submitted] = await notificationsOf(w.applicantA);
    expect(submitted.text).toBe(
      [
        'Annwyl Applicant A,',
        "Diolch: mae cais Hillfields Primary School am Wobr Noddfa wedi'i gyflwyno. Bydd eich arweinydd lleol yn cysylltu â chi.",
        `Gweld y cais: ${page}`,
        '—',
        'Rydych yn cael yr e-bost hwn oherwydd eich rôl yng Ngwobrau Noddfa. City of Sanctuary UK.',
      ].join('\n\n'),
    );
    expect(accepted.text).toContain(
      "Mae cais Hillfields Primary School am Wobr Noddfa wedi'i dderbyn. Mae panel yn cael ei ffurfio i'w arfarnu.",
    );
    const [englishAccepted] = await notificationsOf(english);
    expect(englishAccepted.text).toBe(
      [
        'Dear Tom Hughes,',
        'The Sanctuary Award application of Hillfields Primary School was accepted. A panel is being formed to appraise it.',
        `See the application: ${page}`,
        '—',
        'You receive this because of your role in the Sanctuary Awards. City of Sanctuary UK.',
      ].join('\n\n'),
    );
  });

  it('a language chosen later applies to what is written from then on', async () => {
    await t.database.db
      .updateTable('users')
      .set({ locale: 'en' })
      .where('id', '=', w.applicantA.id)
      .execute();
    const from = smtp.mails.length;
    ok(
      await event(w.leadA, applicationId, {
        type: 'WITHDRAW',
        reason: 'The school asked to withdraw',
      }),
    );
    await tick(t.database.db, t.config, new Date());
    expect(mailsTo(w.applicantA, from).map((m) => m.subject)).toEqual([
      'Application withdrawn: Hillfields Primary School',
    ]);
    await t.database.db
      .updateTable('users')
      .set({ locale: 'cy' })
      .where('id', '=', w.applicantA.id)
      .execute();
  });

  it('a reminder digest is in Welsh for a Welsh reader, and links to the home page', async () => {
    // A second submission left waiting: the lead is reminded after the configured days.
    second = await readyDraft(t.app, w);
    ok(await event(english, second, { type: 'SUBMIT' }));
    const from = smtp.mails.length;
    const summary = await tick(t.database.db, t.config, shift(start.toISOString(), 15));
    expect(summary.reminders).toEqual({ created: 1, digests: 1 });
    expect(mailsTo(w.leadA, from).map((m) => m.subject)).toEqual([
      'Cais newydd gan Hillfields Primary School',
      'Gwobrau Noddfa: 1 nodyn atgoffa',
    ]);
    const [digest] = (await notificationsOf(w.leadA)).filter((n) => n.eventType === 'reminder.digest');
    expect(digest.text).toMatch(
      /^Annwyl Lead A,\n\nPethau sy'n aros amdanoch yng Ngwobrau Noddfa:\n\n• Nid yw cais Hillfields Primary School, a gyflwynwyd ar \d{1,2} [A-Z][a-z]+ \d{4}, wedi'i dderbyn na'i ddychwelyd eto\.\n\nMynd i Wobrau Noddfa: https:\/\/awards\.example\.org\/sanctuary\/\n\n—/,
    );
  });
  it('award notifications link to /awards/{id}, in each reader’s language', async () => {
    const panel = await toReviewing(t.app, w, second, 'language');
    for (const member of panel) ok(await event(member, second, review('met')));
    const { awardId } = ok(
      await event(w.leadA, second, { type: 'DECIDE', outcome: 'award', rationale: 'Da iawn' }),
    );
    await tick(t.database.db, t.config, new Date());
    const expiresAt = ok(await w.admin.api.get(`/awards/${awardId}`)).expiresAt as string;
    const from = smtp.mails.length;
    await tick(t.database.db, t.config, shift(expiresAt, -89));
    const [welsh] = mailsTo(w.applicantA, from);
    const [inEnglish] = mailsTo(english, from);
    expect(welsh.subject).toMatch(/^Adnewyddu: mae Gwobr Noddfa Hillfields Primary School yn dod i ben ar /);
    expect(inEnglish.subject).toMatch(
      /^Renewal due: Hillfields Primary School’s Sanctuary Award expires on /,
    );
    const page = `${PUBLIC_URL}/awards/${awardId}`;
    for (const mail of [welsh, inEnglish]) expect(mail.raw.replace(/=\r?\n/g, '')).toContain(page);
    const [renewal] = await notificationsOf(w.applicantA);
    expect(renewal.text).toContain(`Gweld y wobr: ${page}`);
  });
});

describe('every template in both languages', () => {
  const context = (entity: 'application' | 'award', type: string): MessageContext => ({
    entity,
    entityId: 'id-1',
    organisationName: 'Ysgol Glan Morfa',
    type,
    to: 'x',
    payload: {
      reason: 'A reason',
      dueBy: '2027-03-01T00:00:00Z',
      at: '2027-03-01T10:00:00Z',
      outcome: 'award',
    },
    context: { reached: 'appraisal.consensus', round: 2, expiresAt: '2030-03-01T00:00:00Z' },
    actorName: 'Someone',
  });
  const application = [
    'SUBMIT',
    'RETURN',
    'ACCEPT',
    'ASSIGN_APPRAISER',
    'UNASSIGN_APPRAISER',
    'START_REVIEW',
    'SUBMIT_REVIEW',
    'DECLARE_CONFLICT',
    'SEND_FEEDBACK',
    'RESPOND',
    'SCHEDULE_MEETING',
    'DECIDE',
    'RESUBMIT',
    'EXTEND_DEADLINE',
    'LAPSE',
    'WITHDRAW',
  ];
  const award = ['RENEWAL_DUE', 'RENEWAL_STARTED', 'RENEWAL_FAILED', 'EXPIRE', 'REVOKE'];
  const links = pageLinks('https://awards.example.org/');

  it.each([
    ...application.map((type) => ['application', type, links.application('id-1')] as const),
    ...award.map((type) => ['award', type, links.award('id-1')] as const),
  ])('%s %s differs between English and Welsh and links to its page', (entity, type, url) => {
    const en = renderEventMessage('en', context(entity, type), 'applicants', url);
    const cy = renderEventMessage('cy', context(entity, type), 'applicants', url);
    expect(en?.subject).toBeTruthy();
    expect(cy?.subject).toBeTruthy();
    expect(cy?.subject).not.toBe(en?.subject);
    expect(cy?.paragraphs.join(' ')).not.toMatch(/\b(the|was|has|your)\b/i);
    const html = renderBodies('cy', 'Ffion', cy as NonNullable<typeof cy>).html;
    expect(html).toContain(`<a href="${url}">`);
    expect(html).toContain('<html lang="cy">');
    expect(url).toBe(`https://awards.example.org/${entity}s/id-1`);
  });

  it('Welsh mutates what follows a preposition ("ar gais"), never the organisation’s name', () => {
    const decided = renderEventMessage('cy', context('application', 'DECIDE'), 'applicants', 'u');
    expect(decided?.subject).toBe('Penderfyniad ar gais Ysgol Glan Morfa am Wobr Noddfa: dyfarnwyd y wobr');
    expect(decided?.paragraphs[0]).toBe(
      "Llongyfarchiadau: mae Ysgol Glan Morfa wedi cael Gwobr Noddfa. Mae wedi'i rhestru ar y gofrestr gyhoeddus.",
    );
  });
});
