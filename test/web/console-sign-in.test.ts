import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import {
  type BrowserHarness,
  browserAvailable,
  eventually,
  navigate,
  startBrowserHarness,
  textOf,
} from '../helpers/browser.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * The embedded default has no SMTP: sign-in links and invitations are written for the person who runs
 * the service (on its terminal, or, as here without one, in a file under DATA_DIR only its user reads),
 * so a newcomer can sign in on a fresh machine (SPEC §10).
 */

const run = browserAvailable() ? describe : describe.skip;

let h: BrowserHarness;
let w: World;
let dataDir: string;
const wasTTY = process.stdout.isTTY;

beforeAll(async () => {
  if (!browserAvailable()) return;
  // As under a service manager: no terminal, so the links go to the file.
  Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
  dataDir = mkdtempSync(join(tmpdir(), 'sanctuary-console-'));
  h = await startBrowserHarness({ DATA_DIR: dataDir });
  w = await createWorld(h.t.app, h.t.database.db);
}, 60_000);

afterAll(async () => {
  await h?.close();
  Object.defineProperty(process.stdout, 'isTTY', { value: wasTTY, configurable: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const linksFile = () => join(dataDir, 'sign-in-links.txt');
const fileText = () => {
  try {
    return readFileSync(linksFile(), 'utf8');
  } catch {
    return '';
  }
};

/** The newest link written for `email` after `from` characters of the file. */
const linkFor = (email: string, from: number) =>
  eventually(
    () =>
      new RegExp(`for ${email.replace(/[.+]/g, '\\$&')} \\(valid until [^)]+\\): (\\S+)`).exec(
        fileText().slice(from),
      )?.[1],
    `a link for ${email} in ${linksFile()}`,
  );

async function confirm(page: Page, link: string, check: string) {
  await page.goto(link);
  await h.check(page, check);
  await navigate(page, () => page.locator('main').getByRole('button').click());
}

run('without SMTP', () => {
  it('the admin signs in with the link written to a file only the service’s user can read', async () => {
    const admin = (await w.admin.api.get('/me')).body.email as string;
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('What is your email address?').fill(admin);
    const from = fileText().length;
    await navigate(page, () => page.getByRole('button', { name: 'Email me a sign-in link' }).click());
    expect(await textOf(page, 'main')).toContain('This service has no email server set up');
    await h.check(page, 'check-email-console');
    const link = await linkFor(admin, from);
    expect(statSync(linksFile()).mode & 0o777).toBe(0o600);
    expect(link.startsWith(`${h.baseUrl}/sign-in/link?token=`)).toBe(true);
    await confirm(page, link, 'sign-in-confirm-console');
    expect(await textOf(page, 'h1')).toBe('Administrator');
    expect(await textOf(page, 'main')).toContain('Administrator: every area, stream and organisation');
    await h.check(page, 'home-admin');
    await context.close();
  });

  it('an invitation is written there too, and its page accepts it', async () => {
    const created = await w.admin.api.post('/users', {
      email: 'ffion.jones@ysgol.example.org',
      name: 'Ffion Jones',
      grants: [{ role: 'applicant', organisationId: w.orgB }],
    });
    expect(created.status).toBe(201);
    const from = fileText().length;
    const sent = await h.t.app.signIn.sendInvitation(h.t.database.db, created.body.id, {
      userId: w.admin.id,
      name: 'Administrator',
    });
    expect(sent.deliveredBy).toBe('console');
    expect(fileText().slice(from)).toMatch(/^Invitation for ffion\.jones@ysgol\.example\.org/);
    const link = await linkFor('ffion.jones@ysgol.example.org', from);
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/');
    await navigate(page, () => page.getByRole('link', { name: 'Cymraeg' }).first().click());
    await page.goto(link);
    expect(await textOf(page, 'h1')).toBe('Rydych wedi cael gwahoddiad i Wobrau Noddfa');
    await confirm(page, link, 'invitation-confirm-cy');
    expect(await textOf(page, 'h1')).toBe('Ffion Jones');
    expect(await textOf(page, 'main')).toContain('Ysgol Glan Morfa');
    await h.check(page, 'home-applicant-cy');
    await context.close();
  });
});
