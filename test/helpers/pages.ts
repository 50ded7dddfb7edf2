import { afterAll, expect } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { eventually, signInLinkIn } from './browser.ts';
import { type ReceivedMail, startSmtpServer } from './jobs.ts';
import { useWorld } from './setup.ts';

/**
 * A browser without a browser: requests to the pages through `app.inject`, keeping cookies as a browser
 * would and sending each form back with the CSRF token of the last page read.
 */
export type PageRes = { status: number; html: string; headers: Record<string, unknown>; location?: string };

export function pageClient(app: FastifyInstance, defaults: Record<string, string> = {}) {
  const jar = new Map<string, string>();
  let lastToken: string | undefined;

  const remember = (setCookie: unknown) => {
    const lines = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    for (const line of lines as string[]) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };

  const send = async (
    method: 'GET' | 'POST',
    url: string,
    options: { form?: Record<string, string>; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<PageRes> => {
    const form =
      options.form !== undefined
        ? new URLSearchParams({
            ...(options.csrf === false || !lastToken ? {} : { _csrf: lastToken }),
            ...options.form,
          }).toString()
        : undefined;
    const res = await app.inject({
      method,
      url,
      headers: {
        accept: 'text/html,application/xhtml+xml',
        ...defaults,
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ') } : {}),
        ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...options.headers,
      },
      ...(form !== undefined ? { payload: form } : {}),
    });
    remember(res.headers['set-cookie']);
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) lastToken = token;
    return {
      status: res.statusCode,
      html: res.body,
      headers: res.headers as Record<string, unknown>,
      location: res.headers.location as string | undefined,
    };
  };

  return {
    jar,
    get: (url: string, headers?: Record<string, string>) => send('GET', url, { headers }),
    post: (url: string, form: Record<string, string> = {}, options: { csrf?: boolean } = {}) =>
      send('POST', url, { form, ...options }),
  };
}

export type PageClient = ReturnType<typeof pageClient>;

/** The text of the page's first h1, without markup. */
export const h1 = (html: string) =>
  /<h1[^>]*>([\s\S]*?)<\/h1>/
    .exec(html)?.[1]
    .replace(/<[^>]+>/g, '')
    .trim();

/**
 * A page client signed in through the sign-in pages as the person with this address: the link is
 * taken from the e-mail the in-process SMTP server received.
 */
export async function signedInPages(
  app: FastifyInstance,
  smtp: { mails: ReceivedMail[] },
  email: string,
): Promise<PageClient> {
  const browser = pageClient(app);
  await browser.get('/sign-in');
  const before = smtp.mails.filter((m) => m.to.includes(email)).length;
  expect((await browser.post('/sign-in', { email })).status).toBe(200);
  const mail = await eventually(() => smtp.mails.filter((m) => m.to.includes(email))[before], 'the e-mail');
  const token = new URL(signInLinkIn(mail.raw)).searchParams.get('token') as string;
  await browser.get(`/sign-in/link?token=${token}`);
  expect((await browser.post('/sign-in/link', { token })).location).toBe('/');
  return browser;
}

/** A person's e-mail address, as the API tells them. */
export const emailOf = async (actor: {
  api: { get: (url: string) => Promise<{ body: { email: string } }> };
}) => (await actor.api.get('/me')).body.email;

/** A page's text without markup (apostrophes unescaped, spaces collapsed). */
export const pageText = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

/** The text of the page's error summary, or '' when it has none. */
export const errorSummary = (html: string) =>
  pageText(/<div class="govuk-error-summary"[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '');

/**
 * The test app and its world with e-mail going to an in-process SMTP server (closed after the file),
 * sign-in throttling out of the way, and `signedIn(email)`: a page client signed in by the e-mailed link.
 */
export function usePagesWorld(env: Record<string, string> = {}) {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;
  const { t, w } = useWorld(async () => {
    smtp = await startSmtpServer();
    return { SMTP_URL: smtp.url, SIGN_IN_LIMIT_PER_ADDRESS: '100', SIGN_IN_LIMIT_PER_CLIENT: '1000', ...env };
  });
  afterAll(async () => {
    await smtp?.close();
  });
  const mails = () => smtp?.mails ?? [];
  return {
    t,
    w,
    mails,
    signedIn: (email: string) => signedInPages(t.app, { mails: mails() }, email),
  };
}
