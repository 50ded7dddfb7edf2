import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import type { Locale } from '../../db/schema.ts';
import { validationFailed } from '../../domain/errors.ts';
import type { Passkeys } from '../../signin/passkeys.ts';
import type { SignIn } from '../../signin/service.ts';
import { translator } from '../i18n.ts';
import { CSRF_COOKIE, clearPageCookie, type Pages, SESSION_COOKIE, setLanguageCookie } from '../pages.ts';

type Options = { db: Db; config: Config; signIn: SignIn; passkeys: Passkeys; pages: Pages };

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;
// GOV.UK's pattern: something, an @, something with a dot; the link itself proves the address.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Sign-in by e-mail link (SPEC §10): ask for a link, confirm it with a button, sign out. */
export async function signInRoutes(app: FastifyInstance, { db, config, signIn, passkeys, pages }: Options) {
  const startContext = (request: FastifyRequest) => ({
    linkMinutes: config.signIn.linkMinutes,
    insecureOrigin: !pages.canKeepSessionCookie(request),
    passkeysAvailable: passkeys.available(),
  });

  app.get('/sign-in', async (request, reply) => {
    if (request.visitor?.person) return reply.redirect('/', 303);
    return pages.send(request, reply, 'sign-in/start', startContext(request));
  });

  app.post(
    '/sign-in',
    { config: { form: { view: 'sign-in/start', context: startContext } } },
    async (request, reply) => {
      const locale = request.visitor?.locale ?? 'en';
      const t = translator(locale);
      const raw = (request.body as { email?: unknown } | undefined)?.email;
      const email = typeof raw === 'string' ? raw.trim() : '';
      const problem = !email
        ? 'missing'
        : email.length > 254
          ? 'tooLong'
          : EMAIL.test(email)
            ? null
            : 'format';
      if (problem) {
        throw validationFailed('email', [{ path: 'email', message: t(`signIn.start.errors.${problem}`) }]);
      }
      // The same page whatever happens next: an account or none, throttled or not.
      signIn.requestLink(db, { email, client: request.ip, locale });
      return pages.send(request, reply, 'sign-in/check-email', {
        email,
        linkMinutes: config.signIn.linkMinutes,
        emailConfigured: signIn.emailConfigured,
      });
    },
  );

  const refused = (request: FastifyRequest, reply: FastifyReply) =>
    pages.send(
      request,
      reply,
      'sign-in/refused',
      { linkMinutes: config.signIn.linkMinutes, invitationDays: config.signIn.invitationDays },
      410,
    );

  // Following the link only shows a button: mail scanners that open links do not use it up.
  app.get('/sign-in/link', async (request, reply) => {
    const token = (request.query as { token?: unknown }).token;
    if (typeof token !== 'string' || !TOKEN.test(token)) return refused(request, reply);
    const link = await signIn.peekLink(db, token);
    if (!link) return refused(request, reply);
    return pages.send(request, reply, 'sign-in/confirm', {
      token,
      name: link.name,
      invitation: link.purpose === 'invitation',
    });
  });

  app.post('/sign-in/link', async (request, reply) => {
    const token = (request.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !TOKEN.test(token)) return refused(request, reply);
    const chosenLocale = request.visitor?.localeChosen ? request.visitor.locale : null;
    const session = await signIn.confirmLink(db, token, {
      userAgent: request.headers['user-agent'],
      chosenLocale,
    });
    if (!session) return refused(request, reply);
    await startBrowserSession(request, reply, signIn, db, pages, session);
    return reply.redirect('/', 303);
  });

  app.post('/sign-out', async (request, reply) => {
    await signIn.signOut(db, request.cookies[SESSION_COOKIE] ?? '');
    clearPageCookie(reply, SESSION_COOKIE);
    clearPageCookie(reply, CSRF_COOKIE);
    return reply.redirect('/signed-out', 303);
  });

  app.get('/signed-out', async (request, reply) => pages.send(request, reply, 'signed-out'));
}

/**
 * Puts a newly opened session (an e-mail link's or a passkey's) in the browser. Whoever was signed in
 * on this browser before is signed out: one person per browser session.
 */
export async function startBrowserSession(
  request: FastifyRequest,
  reply: FastifyReply,
  signIn: SignIn,
  db: Db,
  pages: Pages,
  session: { cookieValue: string; locale: Locale | null },
) {
  await signIn.signOut(db, request.cookies[SESSION_COOKIE] ?? '');
  reply.setCookie(SESSION_COOKIE, session.cookieValue, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: true,
  });
  // A new form secret for the signed-in person: none chosen before signing in carries over.
  clearPageCookie(reply, CSRF_COOKIE);
  if (session.locale) setLanguageCookie(reply, session.locale, pages.overTls(request));
}
