import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { createSignIn } from '../../src/signin/service.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { decodeQuotedPrintable, eventually, signInLinkIn } from '../helpers/browser.ts';
import { type ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { h1, pageClient } from '../helpers/pages.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * The sign-in domain (SPEC §10) on its own: links stored only as hashes and used once, the same
 * silence for every address, throttling, invitations, and sessions' idle and absolute expiry.
 */

let t: TestApp;
let w: World;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const emails = new Map<string, string>();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await startTestApp({
    SMTP_URL: smtp.url,
    PUBLIC_URL: 'https://awards.example.org',
    // Throttling is tested on an instance of its own below.
    SIGN_IN_LIMIT_PER_ADDRESS: '100',
  });
  w = await createWorld(t.app, t.database.db);
  for (const [name, actor] of Object.entries({
    applicantA: w.applicantA,
    applicantB: w.applicantB,
    leadA: w.leadA,
  }))
    emails.set(name, (await actor.api.get('/me')).body.email);
  // Creating the world's users e-mailed each an invitation (test/signin/invitations.test.ts): these
  // tests count the mails that follow.
  smtp.mails.length = 0;
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));
const tokenOf = (link: string) => new URL(link).searchParams.get('token') as string;

/** Every text cell of the sign-in links table, to show no link is kept in clear. */
async function linkTableText(): Promise<string> {
  const rows = await sql<{ row: string }>`select sign_in_links::text as row from sign_in_links`.execute(
    t.database.db,
  );
  return rows.rows.map((r) => r.row).join('\n');
}

describe('sign-in links', () => {
  it('are mailed from PUBLIC_URL, stored only as their SHA-256, and expire after SIGN_IN_LINK_MINUTES', async () => {
    const email = emails.get('applicantA') as string;
    const before = Date.now();
    t.app.signIn.requestLink(t.database.db, { email, client: '192.0.2.1', locale: 'en' });
    const mail = await eventually(() => mailsTo(email)[0], 'the sign-in e-mail');
    const link = signInLinkIn(mail.raw);
    expect(link).toMatch(/^https:\/\/awards\.example\.org\/sign-in\/link\?token=[A-Za-z0-9_-]{43}$/);
    expect(mail.subject).toBe('Your link to sign in to Sanctuary Awards');
    expect(decodeQuotedPrintable(mail.raw)).toMatch(/works once, within 15 minutes/);
    const token = tokenOf(link);
    const stored = await t.database.db
      .selectFrom('sign_in_links')
      .selectAll()
      .where('token_hash', '=', sha256(token))
      .executeTakeFirstOrThrow();
    expect(stored.purpose).toBe('sign-in');
    expect(stored.expires_at.getTime() - before).toBeGreaterThanOrEqual(15 * 60_000 - 1000);
    expect(stored.expires_at.getTime() - before).toBeLessThanOrEqual(15 * 60_000 + 5000);
    expect(await linkTableText()).not.toContain(token);
  });

  it('an address without an account gets no e-mail and leaves no row', async () => {
    const rows = async () =>
      Number(
        (await sql<{ n: number }>`select count(*)::int as n from sign_in_links`.execute(t.database.db))
          .rows[0].n,
      );
    const before = await rows();
    t.app.signIn.requestLink(t.database.db, {
      email: 'nobody@example.org',
      client: '192.0.2.2',
      locale: 'en',
    });
    await t.app.signIn.drain();
    expect(mailsTo('nobody@example.org')).toEqual([]);
    expect(await rows()).toBe(before);
  });

  it('are used once: a second use, an expired one and a made-up one open nothing', async () => {
    const email = emails.get('applicantB') as string;
    t.app.signIn.requestLink(t.database.db, { email, client: '192.0.2.3', locale: 'en' });
    const token = tokenOf(signInLinkIn((await eventually(() => mailsTo(email)[0], 'the e-mail')).raw));
    const device = { userAgent: 'test', chosenLocale: null };
    expect(await t.app.signIn.peekLink(t.database.db, token)).toMatchObject({
      purpose: 'sign-in',
      name: 'Applicant B',
    });
    // Looking does not use it up (mail scanners open links).
    expect(await t.app.signIn.peekLink(t.database.db, token)).not.toBeNull();
    const first = await t.app.signIn.confirmLink(t.database.db, token, device);
    expect(first?.cookieValue).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await t.app.signIn.confirmLink(t.database.db, token, device)).toBeNull();
    expect(await t.app.signIn.peekLink(t.database.db, token)).toBeNull();

    t.app.signIn.requestLink(t.database.db, { email, client: '192.0.2.3', locale: 'en' });
    const second = tokenOf(
      signInLinkIn((await eventually(() => mailsTo(email)[1], 'the second e-mail')).raw),
    );
    await t.database.db
      .updateTable('sign_in_links')
      .set({ expires_at: new Date(Date.now() - 1) })
      .where('token_hash', '=', sha256(second))
      .execute();
    expect(await t.app.signIn.confirmLink(t.database.db, second, device)).toBeNull();
    expect(await t.app.signIn.confirmLink(t.database.db, 'A'.repeat(43), device)).toBeNull();
    // Two presses of the button at once: one session, not two.
    t.app.signIn.requestLink(t.database.db, { email, client: '192.0.2.3', locale: 'en' });
    const third = tokenOf(signInLinkIn((await eventually(() => mailsTo(email)[2], 'the third e-mail')).raw));
    const both = await Promise.all([
      t.app.signIn.confirmLink(t.database.db, third, device),
      t.app.signIn.confirmLink(t.database.db, third, device),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
  });

  it('are throttled per address and per client; a throttled request sends nothing and says nothing', async () => {
    const log = { warnings: [] as object[], warn: (o: object) => log.warnings.push(o), error: () => {} };
    const signIn = createSignIn({
      config: { ...t.config, signIn: { ...t.config.signIn, perAddressPerHour: 2, perClientPerHour: 3 } },
      baseUrl: () => 'https://awards.example.org',
      log,
    });
    const lead = emails.get('leadA') as string;
    const before = mailsTo(lead).length;
    for (let i = 0; i < 4; i++)
      signIn.requestLink(t.database.db, {
        email: lead.toUpperCase(),
        client: `198.51.100.${i}`,
        locale: 'en',
      });
    await signIn.drain();
    expect(mailsTo(lead).length - before).toBe(2);
    // One client, many addresses: the fourth request of 203.0.113.9 is not served, whoever it names.
    const applicant = emails.get('applicantA') as string;
    const beforeApplicant = mailsTo(applicant).length;
    for (const email of ['x@example.org', 'y@example.org', 'z@example.org', applicant])
      signIn.requestLink(t.database.db, { email, client: '203.0.113.9', locale: 'en' });
    await signIn.drain();
    expect(mailsTo(applicant).length).toBe(beforeApplicant);
    expect(log.warnings).toEqual([
      { throttled: 'address' },
      { throttled: 'address' },
      { throttled: 'client' },
    ]);
    await signIn.close();
  });

  it('a mail server that fails is logged without the link', async () => {
    const log = { errors: [] as object[], warn: () => {}, error: (o: object) => log.errors.push(o) };
    const signIn = createSignIn({
      config: { ...t.config, smtp: { ...t.config.smtp, url: 'smtp://127.0.0.1:9' } },
      baseUrl: () => 'https://awards.example.org',
      log,
    });
    signIn.requestLink(t.database.db, {
      email: emails.get('leadA') as string,
      client: '192.0.2.9',
      locale: 'en',
    });
    await signIn.drain();
    expect(log.errors).toHaveLength(1);
    expect(JSON.stringify(log.errors)).not.toMatch(/token|sign-in\/link/);
    await signIn.close();
  });
});

describe('invitations', () => {
  it('sendInvitation e-mails a sign-in link valid for 7 days with the invitation wording; the page confirms it', async () => {
    const email = emails.get('leadA') as string;
    const before = mailsTo(email).length;
    const sent = await t.app.signIn.sendInvitation(t.database.db, w.leadA.id, {
      userId: w.admin.id,
      name: 'Ada Admin',
    });
    expect(sent.deliveredBy).toBe('email');
    expect(sent.expiresAt.getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000);
    const mail = mailsTo(email)[before];
    expect(mail.subject).toBe('You are invited to Sanctuary Awards');
    expect(decodeQuotedPrintable(mail.raw)).toMatch(/Ada Admin has invited you to Sanctuary Awards/);
    const link = signInLinkIn(mail.raw);
    const row = await t.database.db
      .selectFrom('sign_in_links')
      .selectAll()
      .where('token_hash', '=', sha256(tokenOf(link)))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ purpose: 'invitation', created_by: w.admin.id, user_id: w.leadA.id });
    expect(await linkTableText()).not.toContain(tokenOf(link));

    // Through the pages: the confirm page speaks of the invitation; its button signs in.
    const browser = pageClient(t.app);
    const page = await browser.get(`/sign-in/link?token=${tokenOf(link)}`);
    expect(page.status).toBe(200);
    expect(h1(page.html)).toBe('You have been invited to Sanctuary Awards');
    expect(page.html).toContain('Accept and sign in');
    const accepted = await browser.post('/sign-in/link', { token: tokenOf(link) });
    expect(accepted.status).toBe(303);
    expect(accepted.location).toBe('/');
    expect(h1((await browser.get('/')).html)).toBe('Lead A');
    expect((await browser.post('/sign-in/link', { token: tokenOf(link) })).status).toBe(410);
  });

  it('is written in the person’s language; an unknown person is not found', async () => {
    await t.database.db
      .updateTable('users')
      .set({ locale: 'cy' })
      .where('id', '=', w.applicantB.id)
      .execute();
    const email = emails.get('applicantB') as string;
    const before = mailsTo(email).length;
    await t.app.signIn.sendInvitation(t.database.db, w.applicantB.id, null);
    const mail = mailsTo(email)[before];
    expect(mail.subject).toBe('Gwahoddiad i Wobrau Noddfa');
    expect(decodeQuotedPrintable(mail.raw)).toMatch(/Mae City of Sanctuary UK wedi eich gwahodd/);
    await expect(
      t.app.signIn.sendInvitation(t.database.db, '00000000-0000-4000-8000-000000000000', null),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('sessions', () => {
  async function session() {
    const email = emails.get('applicantA') as string;
    const before = mailsTo(email).length;
    t.app.signIn.requestLink(t.database.db, { email, client: '192.0.2.50', locale: 'en' });
    const token = tokenOf(signInLinkIn((await eventually(() => mailsTo(email)[before], 'an e-mail')).raw));
    const opened = await t.app.signIn.confirmLink(t.database.db, token, {
      userAgent: 'test',
      chosenLocale: null,
    });
    if (!opened) throw new Error('no session');
    return opened.cookieValue;
  }

  it('stand for the person with their grants, as a token would, and are stored only as hashes', async () => {
    const cookie = await session();
    const found = await t.app.signIn.sessionFor(t.database.db, cookie);
    expect(found?.principal).toMatchObject({
      userId: w.applicantA.id,
      memberOrganisationIds: [w.orgA],
      isAdmin: false,
    });
    const rows = await sql<{ row: string }>`select sessions::text as row from sessions`.execute(
      t.database.db,
    );
    expect(rows.rows.map((r) => r.row).join('\n')).not.toContain(cookie);
    expect(await t.app.signIn.sessionFor(t.database.db, `${cookie}x`)).toBeNull();
  });

  it('end after SESSION_IDLE_MINUTES unused and at SESSION_MAX_HOURS whatever the use; sign-out ends them', async () => {
    const idle = await session();
    await t.database.db
      .updateTable('sessions')
      .set({ last_seen_at: new Date(Date.now() - 121 * 60_000) })
      .where('token_hash', '=', sha256(idle))
      .execute();
    expect(await t.app.signIn.sessionFor(t.database.db, idle)).toBeNull();

    const old = await session();
    const row = await t.database.db
      .selectFrom('sessions')
      .select(['created_at', 'expires_at'])
      .where('token_hash', '=', sha256(old))
      .executeTakeFirstOrThrow();
    expect(row.expires_at.getTime() - row.created_at.getTime()).toBeCloseTo(12 * 3_600_000, -4);
    await t.database.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1) })
      .where('token_hash', '=', sha256(old))
      .execute();
    expect(await t.app.signIn.sessionFor(t.database.db, old)).toBeNull();

    const live = await session();
    await t.database.db
      .updateTable('sessions')
      .set({ last_seen_at: new Date(Date.now() - 10 * 60_000) })
      .where('token_hash', '=', sha256(live))
      .execute();
    expect(await t.app.signIn.sessionFor(t.database.db, live)).not.toBeNull();
    const touched = await t.database.db
      .selectFrom('sessions')
      .select('last_seen_at')
      .where('token_hash', '=', sha256(live))
      .executeTakeFirstOrThrow();
    expect(Date.now() - touched.last_seen_at.getTime()).toBeLessThan(60_000);
    await t.app.signIn.signOut(t.database.db, live);
    expect(await t.app.signIn.sessionFor(t.database.db, live)).toBeNull();
  });
});
