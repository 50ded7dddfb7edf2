import type { DbOrTrx } from '../db/index.ts';
import { assertAdmin } from '../domain/access.ts';
import type { Principal } from '../domain/principal.ts';
import * as repo from './repository.ts';

/** Settings an admin changes while the service runs (SPEC §10), kept in the database for every instance. */

const PASSKEYS_REQUIRED = 'passkeys-required';

/** Whether leads and admins must use a passkey (after an e-mail sign-in) before any other page works. */
export async function passkeysRequired(db: DbOrTrx): Promise<boolean> {
  return (await repo.readSetting(db, PASSKEYS_REQUIRED)) === true;
}

export async function setPasskeysRequired(db: DbOrTrx, actor: Principal, required: boolean) {
  assertAdmin(actor, 'Only an admin may change the settings');
  await repo.writeSetting(db, PASSKEYS_REQUIRED, required, actor.userId);
}
