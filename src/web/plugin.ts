import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Handler, HTTPVersion } from 'find-my-way';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';
import type { ResumableIntake } from '../evidence/tus.ts';
import { isDatabaseUnavailable } from '../http/problem.ts';
import { createPasskeys } from '../signin/passkeys.ts';
import type { SignIn } from '../signin/service.ts';
import type { EvidenceStore } from '../storage/store.ts';
import { isLocale, translator } from './i18n.ts';
import {
  CSRF_COOKIE,
  createPages,
  type Pages,
  SESSION_COOKIE,
  SignInRequired,
  safePath,
  setLanguageCookie,
} from './pages.ts';
import { GOVUK_DIR, STATIC_DIR } from './render.ts';
import { accountRoutes } from './routes/account.ts';
import { adminRoutes } from './routes/admin.ts';
import { adminSettingsRoutes } from './routes/admin-settings.ts';
import { applyRoutes } from './routes/apply.ts';
import { homeRoutes } from './routes/home.ts';
import { leadRoutes } from './routes/lead/index.ts';
import { leadApplicationRoutes } from './routes/lead-application.ts';
import { passkeyGate, passkeyRoutes } from './routes/passkeys.ts';
import { registerRoutes } from './routes/register.ts';
import { reviewRoutes } from './routes/review.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { uploadRoutes } from './routes/uploads.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A static file of the pages: no session, no language. */
    asset?: boolean;
    /** A form page: a validation error thrown while handling it shows this view again with an error summary. */
    form?: { view: string; context?: (request: FastifyRequest) => Record<string, unknown> };
  }
}

type RouteHandler = Handler<HTTPVersion.V1>;

export type WebOptions = {
  db: Db;
  config: Config;
  signIn: SignIn;
  store: EvidenceStore;
  resumable: ResumableIntake;
};

const isMultipart = (request: FastifyRequest) => /^multipart\//i.test(request.headers['content-type'] ?? '');

/**
 * A browser asking for a page, as opposed to a program using the API: it prefers HTML and sends no
 * Authorization header (browsers send none when following links or posting forms).
 */
const fromBrowser = (request: { headers: IncomingHttpHeaders }) =>
  /^\s*(text\/html|application\/xhtml\+xml)\b/i.test(request.headers.accept ?? '') &&
  request.headers.authorization === undefined;

/** Any other GET: for a browser the page-not-found page; for a program, exactly the API's answer. */
const CATCH_ALL = '/*';
const programOnCatchAll = (request: FastifyRequest) =>
  request.routeOptions.url === CATCH_ALL && !fromBrowser(request);

/**
 * The web interface (SPEC §9, §10): server-rendered GOV.UK Frontend pages in the same process as the
 * API, calling the same services. Encapsulated: its form parsing, cookies, sessions, CSRF checks and
 * HTML error pages stay here, while the API keeps JSON bodies (form bodies still answer 415), bearer
 * tokens and problem documents. Every route here is public to the bearer-token hook and hidden from
 * the OpenAPI document; pages authenticate by session cookie only, so a token opens no page and a
 * session cookie opens no API route.
 */
export async function webPlugin(app: FastifyInstance, { db, config, signIn, store, resumable }: WebOptions) {
  const pages = createPages(config);
  const passkeys = createPasskeys({ config, signIn, log: app.log });

  // Pages at an address the API also answers (the register, the verification link printed on
  // certificates) are routes constrained to browsers: `{ constraints: { page: 'html' } }`. Any other
  // request matches the API's unconstrained route there, which stays exactly as it is.
  app.addConstraintStrategy({
    name: 'page',
    storage() {
      let browserRoute: RouteHandler | null = null;
      return {
        get: (value: unknown) => (value === 'html' ? browserRoute : null),
        set: (value: unknown, handler: RouteHandler) => {
          if (value === 'html') browserRoute = handler;
        },
      };
    },
    deriveConstraint: (request: { headers: IncomingHttpHeaders }) =>
      fromBrowser(request) ? 'html' : undefined,
    mustMatchWhenDerived: false,
  });

  app.addHook('onRoute', (route) => {
    const asset = route.url.startsWith('/static/') || route.url.startsWith('/assets/');
    route.config = { ...route.config, public: true, ...(asset ? { asset: true } : {}) };
    route.schema = { ...route.schema, hide: true };
  });

  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: true },
    // In a URL a token could be logged or kept in history: only multipart forms, whose body cannot be
    // read first, send it there (and the request log redacts it). A page's script sends it in a header.
    getToken: (request) =>
      (request.headers['x-csrf-token'] as string | undefined) ??
      (isMultipart(request)
        ? (request.query as { _csrf?: string } | undefined)?._csrf
        : (request.body as { _csrf?: string } | undefined)?._csrf),
  });

  // GOV.UK Frontend's compiled CSS asks for its images at /assets/images; our own files are under /static.
  await app.register(fastifyStatic, {
    root: join(GOVUK_DIR, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
  });
  await app.register(fastifyStatic, {
    root: STATIC_DIR,
    prefix: '/static/',
    decorateReply: false,
    index: false,
  });
  app.get('/static/govuk-frontend.min.js', (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .send(createReadStream(join(GOVUK_DIR, 'govuk-frontend.min.js'))),
  );

  app.decorateRequest('visitor', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.asset) return;
    if (programOnCatchAll(request)) return;
    const cookies = request.cookies;
    const sessionCookie = cookies[SESSION_COOKIE];
    const person = sessionCookie ? await signIn.sessionFor(db, sessionCookie) : null;
    // Whoever the pages act for comes from the session alone; a bearer token opens no page.
    request.principal = person?.principal ?? null;
    const guessed = pages.guessLocale(request, cookies);
    request.visitor = person?.locale
      ? { person, locale: person.locale, localeChosen: true }
      : { person, ...guessed };

    // The language toggle: remember the choice (cookie; and the person's row), then show the same page.
    const lang = (request.query as { lang?: unknown } | undefined)?.lang;
    if (request.method === 'GET' && isLocale(lang)) {
      setLanguageCookie(reply, lang, pages.overTls(request));
      if (person) await signIn.rememberLocale(db, person.principal.userId, lang);
      const [path, query = ''] = request.url.split('?');
      const params = new URLSearchParams(query);
      params.delete('lang');
      const rest = params.toString();
      return reply.redirect(`${safePath(path)}${rest ? `?${rest}` : ''}`, 303);
    }
  });

  // A lead or admin an admin requires to use a passkey is sent to do so before anything else.
  app.addHook('onRequest', passkeyGate(db, passkeys));

  // Every form is a POST with a CSRF token (double-submit: a random secret in a __Host- cookie). A
  // multipart form's token is in its action's query string and is checked before any of the body is
  // read; any other form's is in its parsed body.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'POST' && isMultipart(request)) return app.csrfProtection(request, reply, done);
    done();
  });
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'POST' && !isMultipart(request)) return app.csrfProtection(request, reply, done);
    done();
  });

  app.setErrorHandler((err: FastifyError, request, reply) => pageError(pages, err, request, reply));

  await app.register(homeRoutes, { db, pages });
  await app.register(signInRoutes, { db, config, signIn, passkeys, pages });
  await app.register(accountRoutes, { db, config, signIn, pages });
  await app.register(passkeyRoutes, { db, signIn, passkeys, pages });
  await app.register(adminSettingsRoutes, { db, passkeys, pages });
  await app.register(applyRoutes, { db, config, store, pages });
  await app.register(registerRoutes, { db, pages });
  await app.register(adminRoutes, { db, config, signIn, pages });
  await app.register(leadRoutes, { db, config, signIn, pages });
  await app.register(reviewRoutes, { db, config, store, pages });
  await app.register(leadApplicationRoutes, { db, pages });
  await app.register(uploadRoutes, { db, config, store, resumable });

  app.get(CATCH_ALL, (request, reply) =>
    programOnCatchAll(request) ? reply.callNotFound() : notFoundPage(pages, request, reply),
  );
}

function notFoundPage(pages: Pages, request: FastifyRequest, reply: FastifyReply) {
  const t = translator(request.visitor?.locale ?? 'en');
  return pages.send(
    request,
    reply,
    'error',
    {
      title: t('errors.notFound.title'),
      paragraphs: [t('errors.notFound.typed'), t('errors.notFound.pasted')],
      action: { href: '/', text: t('errors.home') },
    },
    404,
  );
}

type ErrorPage = { status: number; key: string; action?: 'home' | 'signIn' };

const PAGE_FOR_CODE: Partial<Record<DomainError['code'], ErrorPage>> = {
  'not-found': { status: 404, key: 'notFound' },
  forbidden: { status: 403, key: 'forbidden', action: 'home' },
  unauthenticated: { status: 401, key: 'signInNeeded', action: 'signIn' },
  'rate-limited': { status: 429, key: 'rateLimited' },
  'validation-failed': { status: 400, key: 'badRequest' },
  'payload-too-large': { status: 413, key: 'badRequest' },
  'unsupported-media-type': { status: 415, key: 'badRequest' },
  conflict: { status: 409, key: 'conflict' },
  'illegal-transition': { status: 409, key: 'conflict' },
  'version-mismatch': { status: 412, key: 'conflict' },
  'guard-failed': { status: 422, key: 'conflict' },
  unavailable: { status: 503, key: 'unavailable' },
};

/**
 * Errors on pages become pages, never problem documents: a domain error by its code (not found → 404,
 * forbidden → 403, validation on a form → the form again with an error summary); anything unexpected
 * → 500 with a reference that is also in the log, so a person's report can be found.
 */
function pageError(pages: Pages, err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  // A program's request to an unknown path (a bad token, say) gets the API's problem document.
  if (programOnCatchAll(request)) throw err;
  try {
    return errorPage(pages, err, request, reply);
  } catch (renderErr) {
    // Even then a page, never a problem document.
    const reference = randomBytes(4).toString('hex').toUpperCase();
    request.log.error({ err, renderErr, reference }, 'error page failed');
    return reply
      .code(500)
      .type('text/html; charset=utf-8')
      .send(
        `<!DOCTYPE html><html lang="en"><title>Sanctuary Awards</title><h1>Sorry, there is a problem with the service</h1><p>Reference: ${reference}</p></html>`,
      );
  }
}

function errorPage(pages: Pages, err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof SignInRequired) return reply.redirect('/sign-in', 303);
  // Failed before this plugin's hooks ran (a bad bearer token): the cookies are not parsed yet.
  request.cookies ??= request.server.parseCookie(request.headers.cookie ?? '');
  request.visitor ??= { person: null, ...pages.guessLocale(request, request.cookies) };
  const t = translator(request.visitor.locale);

  const form = request.routeOptions.config?.form;
  if (err instanceof DomainError && err.code === 'validation-failed' && form) {
    const listed = (err.extra.errors as { path: string; message: string }[] | undefined) ?? [
      { path: '', message: err.message },
    ];
    const field = (path: string) => path.replace(/^body\./, '');
    return pages.send(
      request,
      reply,
      form.view,
      {
        ...form.context?.(request),
        values: request.body ?? {},
        errors: listed.map((e) => ({
          text: e.message,
          href: field(e.path) ? `#${field(e.path)}` : undefined,
        })),
        fieldErrors: Object.fromEntries(
          listed.filter((e) => field(e.path)).map((e) => [field(e.path), e.message]),
        ),
      },
      400,
    );
  }

  let page: ErrorPage | undefined;
  if (err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET')
    page = { status: 403, key: 'csrf' };
  else if (err instanceof DomainError) page = PAGE_FOR_CODE[err.code];
  else if (isDatabaseUnavailable(err)) page = { status: 503, key: 'unavailable' };
  else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    page = {
      status: err.statusCode === 404 ? 404 : err.statusCode,
      key: err.statusCode === 404 ? 'notFound' : 'badRequest',
    };

  if (page?.key === 'notFound') return notFoundPage(pages, request, reply);
  if (page) {
    if (page.status === 503) reply.header('retry-after', '5');
    return pages.send(
      request,
      reply,
      'error',
      {
        title: t(`errors.${page.key}.title`),
        paragraphs: [t(`errors.${page.key}.body`)],
        action:
          page.action === 'signIn'
            ? { href: '/sign-in', text: t('errors.signInNeeded.action') }
            : page.action === 'home'
              ? { href: '/', text: t('errors.home') }
              : undefined,
      },
      page.status,
    );
  }

  const reference = randomBytes(4).toString('hex').toUpperCase();
  request.log.error({ err, reference }, 'page failed');
  return pages.send(
    request,
    reply,
    'error',
    { title: t('errors.internal.title'), paragraphs: [t('errors.internal.body')], reference },
    500,
  );
}
