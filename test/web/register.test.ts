import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import { awardFor } from '../helpers/awards.ts';
import {
  type BrowserHarness,
  browserAvailable,
  click,
  startBrowserHarness,
  textOf,
} from '../helpers/browser.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * A member of the public in a real Chromium (SPEC §9 "The public"): from any page's footer to the
 * register, a search and a filter, then the verification page of the award found; the register with
 * JavaScript off and in Welsh. No sign-in. Every page is scanned by axe and photographed.
 */

const run = browserAvailable() ? it : it.skip;

let h: BrowserHarness;
let w: World;
let hillfields: { awardId: string };
let glanMorfa: { awardId: string };

beforeAll(async () => {
  if (!browserAvailable()) return;
  h = await startBrowserHarness();
  w = await createWorld(h.t.app, h.t.database.db);
  hillfields = await awardFor(h.t.app, w, w.orgA, w.applicantA);
  glanMorfa = await awardFor(h.t.app, w, w.orgB, w.applicantB);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

run(
  'a member of the public finds an award on the register and opens its verification page',
  async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    await page.goto('/');
    await click(page, 'link', 'Register of awards');
    expect(await textOf(page, 'h1')).toBe('Register of Sanctuary Awards');
    expect(await textOf(page, 'table')).toContain('Hillfields Primary School');
    expect(await textOf(page, 'table')).toContain('Ysgol Glan Morfa');
    await h.check(page, 'register');

    await page.getByLabel('Organisation name').fill('ysgol');
    await page.getByLabel('Nation').selectOption('wales');
    await click(page, 'button', 'Search');
    const table = await textOf(page, 'table');
    expect(table).toContain('Ysgol Glan Morfa');
    expect(table).not.toContain('Hillfields');
    await h.check(page, 'register-filtered');

    await click(page, 'link', 'Ysgol Glan Morfa');
    expect(new URL(page.url()).pathname).toBe(`/register/${glanMorfa.awardId}`);
    expect(await textOf(page, 'h1')).toBe('This award is current');
    expect(await textOf(page, 'main')).toContain('Ysgol Glan Morfa holds a current Sanctuary Award');
    await h.check(page, 'verification');

    // The same address answers a program with the API's JSON.
    const api = await page.request.get(`/register/${glanMorfa.awardId}`, {
      headers: { accept: 'application/json' },
    });
    expect(await api.json()).toMatchObject({ awardId: glanMorfa.awardId, current: true });

    // Once revoked, the certificate's link says only that the award is not current.
    ok(await w.admin.api.post(`/awards/${hillfields.awardId}/events`, { type: 'REVOKE', reason: 'Test' }));
    await page.goto(`/register/${hillfields.awardId}`);
    expect(await textOf(page, 'h1')).toBe('This award is not current');
    expect(await textOf(page, 'main')).not.toContain('Hillfields');
    await h.check(page, 'verification-not-current');
    await context.close();
  },
  120_000,
);

run(
  'the register works with JavaScript off, and in Welsh',
  async () => {
    const off = await h.newContext({ javaScriptEnabled: false });
    const page = await off.newPage();
    await page.goto('/register');
    await page.getByLabel('Type of organisation').selectOption('schools');
    await click(page, 'button', 'Search');
    expect(new URL(page.url()).searchParams.get('stream')).toBe('schools');
    expect(await textOf(page, 'table')).toContain('Ysgol Glan Morfa');
    await off.close();

    const welsh = await h.newContext({ locale: 'cy-GB' });
    const cy = await welsh.newPage();
    await cy.goto('/register');
    expect(await textOf(cy, 'h1')).toBe('Cofrestr Gwobrau Noddfa');
    await h.check(cy, 'register-cy');
    await cy.goto(`/register/${glanMorfa.awardId}`);
    expect(await textOf(cy, 'h1')).toBe("Mae'r wobr hon yn gyfredol");
    await h.check(cy, 'verification-cy');
    await welsh.close();
  },
  120_000,
);
