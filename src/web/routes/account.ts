import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/index.ts';
import { notFound } from '../../domain/errors.ts';
import type { SignIn } from '../../signin/service.ts';
import { formatDate, translator } from '../i18n.ts';
import { clearPageCookie, type Pages, requirePerson, SESSION_COOKIE } from '../pages.ts';
import { describeUserAgent } from '../user-agent.ts';

type Options = { db: Db; config: Config; signIn: SignIn; pages: Pages };

const sessionId = z.uuid();

/** The person's own account: the devices they are signed in on, each one revocable. */
export async function accountRoutes(app: FastifyInstance, { db, config, signIn, pages }: Options) {
  app.get('/account/devices', async (request, reply) => {
    const person = requirePerson(request);
    const locale = request.visitor?.locale ?? 'en';
    const t = translator(locale);
    const devices = (await signIn.devices(db, person)).map((d) => {
      const { browser, system } = describeUserAgent(d.userAgent);
      return {
        id: d.id,
        current: d.current,
        summary: system
          ? t('devices.browserOn', { browser: browser ?? t('devices.unknownBrowser'), system })
          : (browser ?? t('devices.unknownBrowser')),
        createdAt: formatDate(locale, d.createdAt, true),
        lastSeenAt: formatDate(locale, d.lastSeenAt, true),
      };
    });
    return pages.send(request, reply, 'account/devices', {
      devices,
      revoked: (request.query as { revoked?: string }).revoked === '1',
      idleMinutes: config.sessions.idleMinutes,
      maxHours: config.sessions.maxHours,
    });
  });

  app.post('/account/devices/:id/sign-out', async (request, reply) => {
    const person = requirePerson(request);
    const id = sessionId.safeParse((request.params as { id: string }).id);
    if (!id.success) throw notFound('session');
    await signIn.revokeDevice(db, person, id.data);
    if (id.data !== person.sessionId) return reply.redirect('/account/devices?revoked=1', 303);
    clearPageCookie(reply, SESSION_COOKIE);
    return reply.redirect('/signed-out', 303);
  });
}
