import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { isLeadOrAdmin } from '../../domain/access.ts';
import { notFound } from '../../domain/errors.ts';
import { passkeysRequired } from '../../settings/service.ts';
import { PASSKEY_NAME_MAX, PasskeyRefused, type Passkeys } from '../../signin/passkeys.ts';
import type { SessionInfo, SignIn } from '../../signin/service.ts';
import { formatDate, translator } from '../i18n.ts';
import { type Pages, requirePerson } from '../pages.ts';
import { describeUserAgent } from '../user-agent.ts';
import { startBrowserSession } from './sign-in.ts';

type Options = { db: Db; signIn: SignIn; passkeys: Passkeys; pages: Pages };

const REQUIRED_PAGE = '/sign-in/passkey/required';

/** Pages a lead or admin asked to use a passkey may still open: signing in (or out) and the legal pages. */
const OPEN_WHILE_DEMANDED = /^\/(sign-in(\/.*)?|sign-out|signed-out|accessibility|privacy)$/;
/** And, when they have none yet, adding one. */
const OPEN_FOR_REGISTRATION = /^\/account\/passkeys(\/options)?$/;

const passkeyId = z.uuid();
const DONE = ['added', 'renamed', 'removed'] as const;

// The browser's answers, checked in shape here and in substance by the WebAuthn library.
const base64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/)
  .max(4096);
/** A WebAuthn credential as the browser sends it (PublicKeyCredential.toJSON), around its `response`. */
const credential = <R extends z.ZodRawShape>(response: R) =>
  z.object({
    id: base64url,
    rawId: base64url,
    type: z.literal('public-key'),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    response: z.object(response),
  });
const registrationBody = z.object({
  name: z.string().max(1000).optional(),
  response: credential({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z
      .array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']))
      .optional(),
  }),
});
const authenticationBody = z.object({
  response: credential({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
});

const PROBLEM_STATUS = { unavailable: 409, refused: 400, throttled: 429, duplicate: 409 } as const;

const isJson = (request: FastifyRequest) =>
  /^application\/json\b/i.test(request.headers['content-type'] ?? '');

/**
 * Sends a lead or admin who must still use a passkey (an admin requires it, and they signed in by
 * e-mail link alone) to the page that says why, before any other page opens.
 */
export function passkeyGate(db: Db, passkeys: Passkeys): onRequestHookHandler {
  return async (request, reply) => {
    const person = request.visitor?.person;
    if (!person || request.routeOptions.config.asset) return;
    const demand = await passkeys.demand(db, person);
    if (!demand) return;
    const path = request.url.split('?')[0];
    if (OPEN_WHILE_DEMANDED.test(path)) return;
    if (demand === 'register' && OPEN_FOR_REGISTRATION.test(path)) return;
    return reply.redirect(REQUIRED_PAGE, 303);
  };
}

/**
 * Passkeys (SPEC §10): a person's own list (add, rename, remove), signing in with one, and the page a
 * lead or admin is sent to when an admin requires them. The ceremonies need JavaScript (passkeys.js);
 * its requests are JSON, answered in JSON; every form works or says why without it.
 */
export async function passkeyRoutes(app: FastifyInstance, { db, signIn, passkeys, pages }: Options) {
  const problemReply = (reply: FastifyReply, err: unknown) => {
    if (!(err instanceof PasskeyRefused)) throw err;
    return reply.code(PROBLEM_STATUS[err.problem]).send({ problem: err.problem });
  };
  const badRequest = (reply: FastifyReply) => reply.code(400).send({ problem: 'failed' });

  const listContext = async (request: FastifyRequest, person: SessionInfo) => {
    const locale = request.visitor?.locale ?? 'en';
    const done = (request.query as { done?: string }).done;
    const list = await passkeys.list(db, person);
    return {
      passkeys: list.map((p) => ({
        id: p.id,
        name: p.name,
        createdAt: formatDate(locale, p.createdAt, true),
        lastUsedAt: p.lastUsedAt ? formatDate(locale, p.lastUsedAt, true) : null,
      })),
      done: DONE.find((d) => d === done),
      available: passkeys.available(),
      recommended: isLeadOrAdmin(person.principal),
      required: await passkeysRequired(db),
      isAdmin: person.principal.isAdmin,
      nameMax: PASSKEY_NAME_MAX,
    };
  };

  /** A name as typed, or the problem with it; an empty name on adding becomes the device's. */
  const checkName = (request: FastifyRequest, raw: unknown, fallback: string | null) => {
    const t = translator(request.visitor?.locale ?? 'en');
    const name = typeof raw === 'string' ? raw.trim() : '';
    if (name.length > PASSKEY_NAME_MAX)
      return { problem: t('passkeys.errors.nameTooLong', { max: PASSKEY_NAME_MAX }) };
    if (!name && !fallback) return { problem: t('passkeys.errors.nameMissing') };
    return { name: name || (fallback as string) };
  };
  const deviceName = (request: FastifyRequest) => {
    const t = translator(request.visitor?.locale ?? 'en');
    const { browser, system } = describeUserAgent(request.headers['user-agent'] ?? null);
    const device = system
      ? t('devices.browserOn', { browser: browser ?? t('devices.unknownBrowser'), system })
      : (browser ?? t('devices.unknownBrowser'));
    return t('passkeys.add.defaultName', { device }).slice(0, PASSKEY_NAME_MAX);
  };
  const formError = (field: string, text: string) => ({
    errors: [{ text, href: `#${field}` }],
    fieldErrors: { [field]: text },
  });

  app.get('/account/passkeys', async (request, reply) => {
    const person = requirePerson(request);
    return pages.send(request, reply, 'passkeys/list', await listContext(request, person));
  });

  app.post('/account/passkeys/options', async (request, reply) => {
    const person = requirePerson(request);
    try {
      return reply.send(await passkeys.registrationOptions(db, person));
    } catch (err) {
      return problemReply(reply, err);
    }
  });

  app.post('/account/passkeys', async (request, reply) => {
    const person = requirePerson(request);
    if (!isJson(request)) {
      // Without JavaScript the form posts here as it is: say why that cannot add a passkey.
      const t = translator(request.visitor?.locale ?? 'en');
      const values = request.body ?? {};
      const error = formError('name', t('passkeys.errors.noScript'));
      const demand = await passkeys.demand(db, person);
      if (demand === 'register')
        return pages.send(
          request,
          reply,
          'passkeys/required',
          { demand, values, nameMax: PASSKEY_NAME_MAX, ...error },
          400,
        );
      return pages.send(
        request,
        reply,
        'passkeys/list',
        { ...(await listContext(request, person)), values, ...error },
        400,
      );
    }
    const body = registrationBody.safeParse(request.body);
    if (!body.success) return badRequest(reply);
    const name = checkName(request, body.data.name, deviceName(request));
    if (!name.name) return badRequest(reply);
    try {
      await passkeys.register(db, person, { name: name.name, response: body.data.response });
    } catch (err) {
      return problemReply(reply, err);
    }
    return reply.send({ redirect: '/account/passkeys?done=added' });
  });

  const ownPasskey = async (request: FastifyRequest, person: SessionInfo) => {
    const id = passkeyId.safeParse((request.params as { id: string }).id);
    if (!id.success) throw notFound('passkey');
    return passkeys.find(db, person, id.data);
  };

  app.get('/account/passkeys/:id', async (request, reply) => {
    const person = requirePerson(request);
    const passkey = await ownPasskey(request, person);
    return pages.send(request, reply, 'passkeys/rename', { passkey, nameMax: PASSKEY_NAME_MAX });
  });

  app.post('/account/passkeys/:id', async (request, reply) => {
    const person = requirePerson(request);
    const passkey = await ownPasskey(request, person);
    const values = (request.body ?? {}) as { name?: unknown };
    const name = checkName(request, values.name, null);
    if (!name.name)
      return pages.send(
        request,
        reply,
        'passkeys/rename',
        { passkey, nameMax: PASSKEY_NAME_MAX, values, ...formError('name', name.problem as string) },
        400,
      );
    await passkeys.rename(db, person, passkey.id, name.name);
    return reply.redirect('/account/passkeys?done=renamed', 303);
  });

  app.post('/account/passkeys/:id/remove', async (request, reply) => {
    const person = requirePerson(request);
    const passkey = await ownPasskey(request, person);
    await passkeys.remove(db, person, passkey.id);
    return reply.redirect('/account/passkeys?done=removed', 303);
  });

  app.get(REQUIRED_PAGE, async (request, reply) => {
    const person = requirePerson(request);
    const demand = await passkeys.demand(db, person);
    if (!demand) return reply.redirect('/', 303);
    return pages.send(request, reply, 'passkeys/required', { demand, nameMax: PASSKEY_NAME_MAX });
  });

  app.post('/sign-in/passkey/options', async (request, reply) => {
    try {
      return reply.send(
        await passkeys.authenticationOptions(db, {
          client: request.ip,
          session: request.visitor?.person ?? null,
        }),
      );
    } catch (err) {
      return problemReply(reply, err);
    }
  });

  app.post('/sign-in/passkey', async (request, reply) => {
    // Without JavaScript there is no passkey to send: back to the page that says so.
    if (!isJson(request)) return reply.redirect('/sign-in', 303);
    const body = authenticationBody.safeParse(request.body);
    if (!body.success) return badRequest(reply);
    const chosenLocale = request.visitor?.localeChosen ? request.visitor.locale : null;
    try {
      const session = await passkeys.authenticate(db, {
        client: request.ip,
        response: body.data.response,
        device: { userAgent: request.headers['user-agent'], chosenLocale },
      });
      await startBrowserSession(request, reply, signIn, db, pages, session);
    } catch (err) {
      return problemReply(reply, err);
    }
    return reply.send({ redirect: '/' });
  });
}
