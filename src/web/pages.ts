import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import type { Locale } from '../db/schema.ts';
import type { SessionInfo } from '../signin/service.ts';
import { DEFAULT_LOCALE, isLocale, preferredLocale, type Translate, translator } from './i18n.ts';
import { createRenderer, inlineScriptHashes, pageContentSecurityPolicy } from './render.ts';

/** Cookies of the pages (none of them is read by the API). */
export const SESSION_COOKIE = '__Host-sa_session';
export const CSRF_COOKIE = '__Host-sa_csrf';
export const LANGUAGE_COOKIE = 'sa_lang';

/** Who is looking at a page, and in which language. */
export type Visitor = {
  person: SessionInfo | null;
  locale: Locale;
  /** The language came from an explicit choice (the toggle's cookie or the person's row), not a guess. */
  localeChosen: boolean;
};

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for page requests by the web plugin: the session's person (never a bearer token's) and language. */
    visitor: Visitor | null;
  }
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$|\.localhost$/i;

/** Rendering of pages, shared by the routes and the error handler. */
export function createPages(config: Pick<Config, 'publicUrl'>) {
  const renderer = createRenderer();
  const scriptHashes = inlineScriptHashes();
  const publicTls = config.publicUrl?.startsWith('https:') ?? false;

  /** The browser reached us over TLS (directly, or through a trusted proxy). */
  const overTls = (request: FastifyRequest) => request.protocol === 'https' || publicTls;

  return {
    overTls,

    /**
     * Session cookies are `__Host-` prefixed and so always Secure. Browsers keep Secure cookies on
     * https and on http://localhost or 127.0.0.1 (a secure context); anywhere else over plain http they
     * would drop them, so the sign-in page says to use https rather than fail silently.
     */
    canKeepSessionCookie: (request: FastifyRequest) => overTls(request) || LOOPBACK.test(request.hostname),

    /** The language of a request before any session is known: the toggle's cookie, else the browser's. */
    guessLocale(
      request: FastifyRequest,
      cookies: Record<string, string | undefined>,
    ): Omit<Visitor, 'person'> {
      const chosen = cookies[LANGUAGE_COOKIE];
      if (isLocale(chosen)) return { locale: chosen, localeChosen: true };
      return {
        locale: preferredLocale(request.headers['accept-language']) ?? DEFAULT_LOCALE,
        localeChosen: false,
      };
    },

    /** Sends a page: HTML, the pages' strict CSP, never cached (pages are personal or carry form tokens). */
    send(
      request: FastifyRequest,
      reply: FastifyReply,
      view: string,
      context: Record<string, unknown> = {},
      status = 200,
    ) {
      const visitor = request.visitor ?? { person: null, locale: DEFAULT_LOCALE, localeChosen: false };
      const t: Translate = translator(visitor.locale);
      const path = request.url.split('?')[0];
      let csrfToken: string | undefined;
      const html = renderer.render(view, {
        locale: visitor.locale,
        t,
        person: visitor.person
          ? {
              name: visitor.person.principal.name,
              email: visitor.person.principal.email,
              isAdmin: visitor.person.principal.isAdmin,
              isLead: visitor.person.principal.leadAreaIds.length > 0,
              isAppraiser: visitor.person.principal.isAppraiser,
            }
          : null,
        currentPath: path,
        languageHref: { en: languageHref(request.url, 'en'), cy: languageHref(request.url, 'cy') },
        // Generated on first use only: pages without a form set no cookie.
        csrf: () => {
          csrfToken ??= reply.generateCsrf();
          return csrfToken;
        },
        errors: [],
        fieldErrors: {},
        values: {},
        ...context,
      });
      return reply
        .code(status)
        .header('content-security-policy', pageContentSecurityPolicy(scriptHashes, overTls(request)))
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(html);
    },
  };
}

export type Pages = ReturnType<typeof createPages>;

/** The same page in another language: the toggle is a plain link, so it works without JavaScript. */
export function languageHref(url: string, locale: Locale): string {
  const [path, query = ''] = url.split('?');
  const params = new URLSearchParams(query);
  params.set('lang', locale);
  return `${safePath(path)}?${params.toString()}`;
}

/** A path of this site only: `//host` or `/\host` would leave it. */
export function safePath(path: string): string {
  return path.startsWith('/') && !/^\/[/\\]/.test(path) ? path : '/';
}

/** A page needs a signed-in person: the error handler sends the browser to the sign-in page. */
export class SignInRequired extends Error {
  override name = 'SignInRequired';
}

export function requirePerson(request: FastifyRequest): SessionInfo {
  const person = request.visitor?.person;
  if (!person) throw new SignInRequired();
  return person;
}

export function setLanguageCookie(reply: FastifyReply, locale: Locale, secure: boolean) {
  reply.setCookie(LANGUAGE_COOKIE, locale, {
    path: '/',
    sameSite: 'lax',
    httpOnly: true,
    secure,
    maxAge: 365 * 24 * 3600,
  });
}

/** Removes a page cookie (the attributes must match the ones it was set with). */
export function clearPageCookie(reply: FastifyReply, name: string) {
  reply.clearCookie(name, { path: '/', secure: true, sameSite: 'lax', httpOnly: true });
}
