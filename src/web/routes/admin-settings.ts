import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/index.ts';
import { assertAdmin } from '../../domain/access.ts';
import { validationFailed } from '../../domain/errors.ts';
import { passkeysRequired, setPasskeysRequired } from '../../settings/service.ts';
import type { Passkeys } from '../../signin/passkeys.ts';
import { translator } from '../i18n.ts';
import { type Pages, requirePerson } from '../pages.ts';

type Options = { db: Db; passkeys: Passkeys; pages: Pages };

/** The admin's settings (SPEC §10): for now, whether leads and admins must use a passkey. */
export async function adminSettingsRoutes(app: FastifyInstance, { db, passkeys, pages }: Options) {
  const context = () => ({ passkeysAvailable: passkeys.available() });

  app.get('/admin/settings', async (request, reply) => {
    const person = requirePerson(request);
    assertAdmin(person.principal);
    return pages.send(request, reply, 'admin-settings/settings', {
      ...context(),
      passkeysRequired: await passkeysRequired(db),
      saved: (request.query as { saved?: string }).saved === '1',
    });
  });

  app.post(
    '/admin/settings',
    { config: { form: { view: 'admin-settings/settings', context } } },
    async (request, reply) => {
      const person = requirePerson(request);
      assertAdmin(person.principal);
      const choice = (request.body as { passkeysRequired?: unknown } | undefined)?.passkeysRequired;
      if (choice !== 'yes' && choice !== 'no') {
        const t = translator(request.visitor?.locale ?? 'en');
        throw validationFailed('passkeysRequired', [
          { path: 'passkeysRequired', message: t('passkeys.settings.errors.missing') },
        ]);
      }
      await setPasskeysRequired(db, person.principal, choice === 'yes');
      return reply.redirect('/admin/settings?saved=1', 303);
    },
  );
}
