import { afterAll, describe, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import { decodeQuotedPrintable, signInLinkIn } from '../helpers/browser.ts';
import type { Res } from '../helpers/client.ts';
import { type ReceivedMail, startSmtpServer } from '../helpers/jobs.ts';
import { h1, pageClient } from '../helpers/pages.ts';
import { useWorld } from '../helpers/setup.ts';

/**
 * Invitations by e-mail (SPEC §10): a user an admin creates is e-mailed a sign-in link worded as an
 * invitation; a lead's offer is e-mailed too, worded for what was offered, and it is accepted after
 * signing in. The lead's answer and the e-mail are the same whether the address was new or had an
 * account elsewhere (SPEC §3).
 */

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const { t, w } = useWorld(async () => {
  smtp = await startSmtpServer();
  return { SMTP_URL: smtp.url, PUBLIC_URL: 'https://awards.example.org' };
});
afterAll(async () => {
  await smtp.close();
});

const mailsTo = (email: string) => smtp.mails.filter((m: ReceivedMail) => m.to.includes(email));
/** The text of a mail's body, quoted-printable undone and read as UTF-8. */
const bodyOf = (mail: ReceivedMail) =>
  Buffer.from(decodeQuotedPrintable(mail.raw), 'latin1').toString('utf8').replace(/\s+/g, ' ');
const tokenOf = (link: string) => new URL(link).searchParams.get('token') as string;

/** Follows an e-mailed link as a person would in a browser: the confirm page, then its form. */
async function signInWith(link: string) {
  expect(link.startsWith('https://awards.example.org/sign-in/link?token=')).toBe(true);
  const browser = pageClient(t.app);
  const url = new URL(link);
  const confirm = await browser.get(`${url.pathname}${url.search}`);
  expect(confirm.status).toBe(200);
  expect(confirm.html).toMatch(/name="_csrf" value="[^"]+"/);
  const done = await browser.post('/sign-in/link', { token: tokenOf(link) });
  expect(done.status).toBe(303);
  expect(done.location).toBe('/');
  return { browser, home: await browser.get('/') };
}

/** A lead's 202 answer with what differs by request (ids, times, the name and address typed) blanked. */
const shapeOf = (res: Res) => ({
  status: res.status,
  headers: Object.keys(res.headers)
    .filter((h) => !['date', 'content-length', 'x-request-id'].includes(h))
    .sort(),
  body: JSON.parse(
    JSON.stringify(res.body, (key, value) =>
      ['id', 'email', 'name', 'createdAt', 'expiresAt'].includes(key) && typeof value === 'string'
        ? '…'
        : value,
    ),
  ),
});

describe('an admin creating a user', () => {
  it('answers 201 as before and e-mails them an invitation whose link signs them in', async () => {
    const email = 'nia.evans@hillfields.example.org';
    const created = await w.admin.api.post('/users', {
      email,
      name: 'Nia Evans',
      grants: [{ role: 'applicant', organisationId: w.orgA }],
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(
      ['appraiserProfile', 'createdAt', 'email', 'grants', 'id', 'name'].sort(),
    );
    const [mail, ...more] = mailsTo(email);
    expect(more).toEqual([]);
    expect(mail.subject).toBe('You are invited to Sanctuary Awards');
    expect(bodyOf(mail)).toMatch(/Administrator has invited you to Sanctuary Awards/);
    const { home } = await signInWith(signInLinkIn(mail.raw));
    expect(h1(home.html)).toBe('Nia Evans');
    expect(home.html).toContain('Hillfields Primary School');
  });
});

describe("a lead's invitation by e-mail", () => {
  const offer = (email: string, name: string) => ({
    email,
    name,
    grants: [{ role: 'applicant', organisationId: w.orgA }],
  });

  it('answers the same, and e-mails the same invitation, for a new address and an account elsewhere', async () => {
    const fresh = 'owen.price@hillfields.example.org';
    const elsewhere = ok(await w.applicantB.api.get('/me')).email as string;
    // Applicant B was invited to the service when the admin created them.
    const earlier = mailsTo(elsewhere).length;
    const toNew = await w.leadA.api.post('/users', offer(fresh, 'Owen Price'));
    const toExisting = await w.leadA.api.post('/users', offer(elsewhere, 'Someone Else'));
    expect(toNew.status).toBe(202);
    expect(shapeOf(toExisting)).toEqual(shapeOf(toNew));

    const [newMail, ...moreNew] = mailsTo(fresh);
    const [existingMail, ...moreExisting] = mailsTo(elsewhere).slice(earlier);
    expect([moreNew, moreExisting]).toEqual([[], []]);
    for (const mail of [newMail, existingMail]) {
      expect(mail.subject).toBe('You are invited to join Hillfields Primary School');
      expect(bodyOf(mail)).toMatch(
        /Lead A has invited you to join Hillfields Primary School on Sanctuary Awards.*you will then see the invitation, and can accept or decline it/,
      );
      expect(signInLinkIn(mail.raw)).toMatch(/^https:\/\/awards\.example\.org\/sign-in\/link\?token=/);
    }
  });

  it('leads to sign-in, then the pending invitation, which the person accepts', async () => {
    const email = 'owen.price@hillfields.example.org';
    const { home } = await signInWith(signInLinkIn(mailsTo(email)[0].raw));
    expect(h1(home.html)).toBe('Owen Price');
    // The API is the way to accept until the pages offer it: a token the admin issues for Owen.
    const owen = ok(await w.admin.api.get(`/users?email=${encodeURIComponent(email)}`)).items[0];
    const token = ok(await w.admin.api.post(`/users/${owen.id}/tokens`, {}), 201).token as string;
    const api = (await import('../helpers/client.ts')).client(t.app, token);
    const [pending] = ok(await api.get('/me/invitations')).items;
    expect(pending).toMatchObject({ status: 'pending', invitedBy: { name: 'Lead A' } });
    expect(ok(await api.post(`/me/invitations/${pending.id}/accept`, {})).status).toBe('accepted');
    expect(ok(await api.get('/me')).organisations.map((o: { name: string }) => o.name)).toEqual([
      'Hillfields Primary School',
    ]);
  });

  it('is written in the language of an account that chose Welsh, and the members door sends it too', async () => {
    const elsewhere = ok(await w.leadB.api.get('/me')).email as string;
    await t.database.db.updateTable('users').set({ locale: 'cy' }).where('id', '=', w.leadB.id).execute();
    const before = mailsTo(elsewhere).length;
    const added = await w.leadA.api.post(`/organisations/${w.orgA}/members`, {
      email: elsewhere,
      name: 'Lead B',
    });
    expect(added.status).toBe(202);
    const mail = mailsTo(elsewhere)[before];
    expect(mail.subject).toBe('Gwahoddiad i ymuno â Hillfields Primary School');
    expect(bodyOf(mail)).toMatch(
      /Mae Lead A wedi eich gwahodd i ymuno â Hillfields Primary School ar Wobrau Noddfa/,
    );
    expect(mailsTo(elsewhere)).toHaveLength(before + 1);
  });

  it('someone already in the lead’s scope is not invited: 409, and no e-mail', async () => {
    const email = ok(await w.applicantA.api.get('/me')).email as string;
    const before = mailsTo(email).length;
    expect((await w.leadA.api.post('/users', offer(email, 'Applicant A'))).status).toBe(409);
    expect(mailsTo(email)).toHaveLength(before);
  });
});
