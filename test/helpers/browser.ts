import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from './app.ts';
import { type ReceivedMail, startSmtpServer } from './jobs.ts';
import { createWorld, type World } from './world.ts';

/**
 * Real-browser tests: the real server on a socket (the same app and database helpers as the HTTP
 * tests) driven by Debian's Chromium through playwright-core. Every page visited is scanned with axe
 * for WCAG 2.2 AA and a failure names each violation; a PNG of each page type is kept under
 * test/web/screenshots/ (not committed) to be looked at.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../web/screenshots/', import.meta.url));
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Whether the browser tests can run here. Without Chromium they are skipped with a message, except
 * where REQUIRE_BROWSER=1 (CI, which installs it): there a missing browser fails the run.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.REQUIRE_BROWSER === '1')
    throw new Error(`Chromium is required (REQUIRE_BROWSER=1) but ${CHROMIUM} does not exist`);
  console.warn(`[tests] ${CHROMIUM} not found: browser tests skipped (apt-get install chromium)`);
  return false;
}

export type BrowserHarness = {
  t: TestApp;
  baseUrl: string;
  browser: Browser;
  /** A fresh browser profile (cookies of its own). */
  newContext(options?: { javaScriptEnabled?: boolean; locale?: string }): Promise<BrowserContext>;
  /** Scans the page with axe (fails on any violation) and saves its screenshot as `<name>.png`. */
  check(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
};

export async function startBrowserHarness(env: Record<string, string> = {}): Promise<BrowserHarness> {
  const t = await startTestApp(env);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const contexts: BrowserContext[] = [];
  return {
    t,
    baseUrl,
    browser,
    async newContext(options = {}) {
      const context = await browser.newContext({
        baseURL: baseUrl,
        javaScriptEnabled: options.javaScriptEnabled ?? true,
        locale: options.locale ?? 'en-GB',
        viewport: { width: 1024, height: 768 },
      });
      contexts.push(context);
      return context;
    },
    async check(page, name) {
      const results = await new AxeBuilder({ page }).withTags(WCAG_22_AA).analyze();
      const violations = results.violations.map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`,
      );
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      if (violations.length)
        throw new Error(
          `axe found WCAG 2.2 AA violations on ${name} (${page.url()}):\n  ${violations.join('\n  ')}`,
        );
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await t.close();
    },
  };
}

/** Decodes a raw MIME message's quoted-printable text enough to find links in it. */
/**
 * A harness whose e-mail goes to an in-process SMTP server, with the test world built: for browser tests
 * that sign people in by e-mail link. Every browser here is one client asking many links for one
 * person, so sign-in throttling is set out of the way (it has its own tests in test/signin).
 */
export async function startMailedBrowserWorld(): Promise<{
  h: BrowserHarness;
  w: World;
  smtp: Awaited<ReturnType<typeof startSmtpServer>>;
}> {
  const smtp = await startSmtpServer();
  const h = await startBrowserHarness({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Sanctuary Awards <awards@example.org>',
    SIGN_IN_LIMIT_PER_ADDRESS: '1000',
    SIGN_IN_LIMIT_PER_CLIENT: '1000',
  });
  const w = await createWorld(h.t.app, h.t.database.db);
  return { h, w, smtp };
}

export function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The sign-in link in a received e-mail. */
export function signInLinkIn(raw: string): string {
  const match = /https?:\/\/[^\s"<>]+\/sign-in\/link\?token=[A-Za-z0-9_-]+/.exec(decodeQuotedPrintable(raw));
  if (!match) throw new Error(`no sign-in link in the e-mail:\n${raw}`);
  return match[0];
}

/** Waits until `check` is true (mail arrives after the page answers). */
export async function eventually<T>(
  check: () => T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs an action that loads another page (a link, a form's button) and waits for that page. */
export async function navigate(page: Page, action: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
}

/** The visible text of the first element matching `selector`, trimmed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).trim();
}

/** Follows a link or presses a button by its accessible name, and waits for the page it loads. */
export async function click(page: Page, role: 'link' | 'button', name: string | RegExp): Promise<void> {
  await navigate(page, () => page.getByRole(role, { name }).first().click());
}

/**
 * Signs the person in on `page` as they would: the sign-in page, then the link e-mailed to them (taken
 * from the in-process SMTP server), then the button. `origin` when the page has no base URL of its own.
 */
export async function signInByEmail(
  page: Page,
  smtp: { mails: ReceivedMail[] },
  email: string,
  origin = '',
): Promise<void> {
  const mailsTo = () => smtp.mails.filter((m) => m.to.includes(email));
  const before = mailsTo().length;
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel('What is your email address?').fill(email);
  await click(page, 'button', 'Email me a sign-in link');
  const mail = await eventually(() => mailsTo()[before], `the sign-in e-mail to ${email}`);
  await page.goto(signInLinkIn(mail.raw));
  await click(page, 'button', /sign in/i);
}
