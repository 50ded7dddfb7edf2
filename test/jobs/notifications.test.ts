import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { event, ok, readyDraft, review, toReviewing } from '../helpers/applications.ts';
import { type ReceivedMail, shift, startSmtpServer, tick } from '../helpers/jobs.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor } from '../helpers/world.ts';

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const emailOf = new Map<string, string>();
const { t, w } = useWorld(async () => {
  smtp = await startSmtpServer();
  return {
    ALLOW_CLOCK_OVERRIDE: '1',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Sanctuary Awards <awards@example.org>',
  };
});
beforeAll(async () => {
  for (const a of [w.leadA, w.applicantA, w.admin]) emailOf.set(a.id, ok(await a.api.get('/me')).email);
});
afterAll(async () => {
  await smtp.close();
});

/** Mails that arrived for `actor` since `from`, by subject. */
const subjectsFor = (email: string, from = 0) =>
  smtp.mails
    .slice(from)
    .filter((m: ReceivedMail) => m.to.includes(email))
    .map((m) => m.subject);

describe('people are e-mailed at each step that concerns them', () => {
  const start = new Date();
  let applicationId: string;
  let panel: Actor[];
  let panelEmails: string[];
  let awardId: string;

  it('a submission tells the lead (not the applicant who sent it); a stale one is reminded in a digest, once', async () => {
    applicationId = await readyDraft(t.app, w);
    ok(await event(w.applicantA, applicationId, { type: 'SUBMIT' }));
    const summary = await tick(t.database.db, t.config, shift(start.toISOString(), 15));
    expect(summary.reminders).toEqual({ created: 1, digests: 1 });
    expect(summary.emails.sent).toBe(2);
    const lead = emailOf.get(w.leadA.id) as string;
    expect(subjectsFor(lead)).toEqual([
      // Sent when the admin created the lead, straight away rather than through the outbox.
      'You are invited to Sanctuary Awards',
      'New application from Hillfields Primary School',
      'Sanctuary Awards: 1 reminder',
    ]);
    const digest = smtp.mails.find((m) => m.subject === 'Sanctuary Awards: 1 reminder') as ReceivedMail;
    expect(digest.raw).toMatch(/has not been accepted or returned yet/);
    expect(digest.raw).toMatch(/Content-Type: text\/html/i);
    expect(digest.from).toBe('awards@example.org');
    expect(subjectsFor(emailOf.get(w.applicantA.id) as string)).toEqual([
      'You are invited to Sanctuary Awards',
    ]);
    // The same instant again: nothing more is reminded or sent.
    const again = await tick(t.database.db, t.config, shift(start.toISOString(), 15));
    expect(again.reminders).toEqual({ created: 0, digests: 0 });
    expect(again.emails.sent).toBe(0);
  });

  it('appraisers hear they were assigned and that reviews opened; outstanding reviews are reminded', async () => {
    const before = smtp.mails.length;
    panel = await toReviewing(t.app, w, applicationId, 'notify');
    panelEmails = await Promise.all(panel.map(async (m) => ok(await m.api.get('/me')).email as string));
    const summary = await tick(t.database.db, t.config, shift(start.toISOString(), 22));
    expect(summary.reminders.created).toBe(3);
    for (const email of panelEmails) {
      expect(subjectsFor(email, before)).toEqual([
        'You are invited to Sanctuary Awards',
        'You were assigned to the panel for Hillfields Primary School',
        'Reviews are open: Hillfields Primary School',
        'Sanctuary Awards: 1 reminder',
      ]);
    }
    expect(subjectsFor(emailOf.get(w.applicantA.id) as string, before)).toEqual([
      'Your application was accepted for appraisal',
    ]);
  });

  it('the decision reaches the school and the panel; the lead who made it is not mailed about it', async () => {
    const before = smtp.mails.length;
    for (const m of panel) ok(await event(m, applicationId, review('met')));
    awardId = ok(
      await event(w.leadA, applicationId, {
        type: 'DECIDE',
        outcome: 'award',
        rationale: 'Every criterion met',
      }),
    ).awardId;
    await tick(t.database.db, t.config, new Date());
    const decision = 'Decision on the Sanctuary Award application of Hillfields Primary School: awarded';
    expect(subjectsFor(emailOf.get(w.applicantA.id) as string, before)).toEqual([decision]);
    for (const email of panelEmails) expect(subjectsFor(email, before)).toEqual([decision]);
    expect(subjectsFor(emailOf.get(w.leadA.id) as string, before)).toEqual([
      'All reviews are in: Hillfields Primary School',
    ]);
    // The school's mail holds the decision, never individual reviews.
    const schoolMail = smtp.mails
      .slice(before)
      .find((m) => m.to.includes(emailOf.get(w.applicantA.id) as string)) as ReceivedMail;
    expect(schoolMail.raw).toMatch(/Every criterion met/);
    expect(schoolMail.raw).not.toMatch(/A welcoming school|lived experience/i);
  });

  it('renewal due: the school and its lead are told at expiry − 90 days, and reminded 30 days before', async () => {
    const expiresAt = ok(await w.admin.api.get(`/awards/${awardId}`)).expiresAt;
    const before = smtp.mails.length;
    await tick(t.database.db, t.config, shift(expiresAt, -89));
    const subject = `Renewal due: Hillfields Primary School’s Sanctuary Award expires on ${new Date(expiresAt).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}`;
    expect(subjectsFor(emailOf.get(w.applicantA.id) as string, before)).toEqual([subject]);
    expect(subjectsFor(emailOf.get(w.leadA.id) as string, before)).toEqual([subject]);
    const reminded = await tick(t.database.db, t.config, shift(expiresAt, -29));
    expect(reminded.reminders).toEqual({ created: 2, digests: 2 });
    expect(subjectsFor(emailOf.get(w.applicantA.id) as string, before)).toEqual([
      subject,
      'Sanctuary Awards: 1 reminder',
    ]);
  });

  it('GET /me/notifications lists the caller’s own notifications with their delivery status', async () => {
    const mine = ok(await w.applicantA.api.get('/me/notifications'));
    const types = mine.items.map((n: { eventType: string }) => n.eventType);
    expect(types).toEqual([
      'reminder.digest',
      'award.RENEWAL_DUE',
      'application.DECIDE',
      'application.ACCEPT',
    ]);
    expect(mine.items.every((n: { email: { status: string } }) => n.email.status === 'sent')).toBe(true);
    expect(mine.items[2].text).toMatch(/Dear Applicant A/);
    const page = ok(await w.applicantA.api.get('/me/notifications?limit=2'));
    expect(page.items).toHaveLength(2);
    const next = ok(await w.applicantA.api.get(`/me/notifications?limit=2&cursor=${page.nextCursor}`));
    expect(next.items.map((n: { id: string }) => n.id)).toEqual(
      mine.items.slice(2).map((n: { id: string }) => n.id),
    );
    expect((await w.anonymous.get('/me/notifications')).status).toBe(401);
  });
});

describe('without an SMTP server', () => {
  const { t: plain, w: world } = useWorld();
  it('notifications stay readable and are marked skipped; nothing crashes', async () => {
    const id = await readyDraft(plain.app, world);
    ok(await event(world.applicantA, id, { type: 'SUBMIT' }));
    const summary = await tick(plain.database.db, plain.config, new Date());
    expect(summary.emails).toEqual({ sent: 0, retried: 0, failed: 0, skipped: 1 });
    const mine = ok(await world.leadA.api.get('/me/notifications'));
    expect(mine.items).toHaveLength(1);
    expect(mine.items[0]).toMatchObject({
      eventType: 'application.SUBMIT',
      email: { status: 'skipped', sentAt: null },
    });
  });
});
