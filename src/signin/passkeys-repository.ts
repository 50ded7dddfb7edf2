import type { DbOrTrx } from '../db/index.ts';

/** All SQL about passkeys and the challenges of WebAuthn ceremonies in progress. */

export type ChallengePurpose = 'registration' | 'authentication';

const PASSKEY_COLUMNS = [
  'id',
  'user_id',
  'credential_id',
  'public_key',
  'counter',
  'transports',
  'name',
  'created_at',
  'last_used_at',
] as const;

export async function listPasskeys(db: DbOrTrx, userId: string) {
  return db
    .selectFrom('passkeys')
    .select(PASSKEY_COLUMNS)
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
}

export async function hasPasskey(db: DbOrTrx, userId: string): Promise<boolean> {
  const row = await db.selectFrom('passkeys').select('id').where('user_id', '=', userId).executeTakeFirst();
  return Boolean(row);
}

export async function findPasskeyByCredentialId(db: DbOrTrx, credentialId: string) {
  return db
    .selectFrom('passkeys')
    .select(PASSKEY_COLUMNS)
    .where('credential_id', '=', credentialId)
    .executeTakeFirst();
}

/** Inserts a passkey; false when its credential is already registered (to anyone). */
export async function insertPasskey(
  db: DbOrTrx,
  passkey: {
    user_id: string;
    credential_id: string;
    public_key: Uint8Array;
    counter: number;
    transports: string[];
    name: string;
  },
): Promise<boolean> {
  const row = await db
    .insertInto('passkeys')
    .values(passkey)
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function renamePasskey(db: DbOrTrx, userId: string, id: string, name: string) {
  const row = await db
    .updateTable('passkeys')
    .set({ name })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function deletePasskey(db: DbOrTrx, userId: string, id: string) {
  const row = await db
    .deleteFrom('passkeys')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

/**
 * Records a use and its new signature counter, only if the counter is still the one the assertion was
 * checked against: of two requests replaying one assertion concurrently, one alone succeeds.
 */
export async function recordPasskeyUse(
  db: DbOrTrx,
  id: string,
  checkedCounter: string,
  newCounter: number,
  now: Date,
) {
  const row = await db
    .updateTable('passkeys')
    .set({ counter: newCounter, last_used_at: now })
    .where('id', '=', id)
    .where('counter', '=', checkedCounter)
    .returning('id')
    .executeTakeFirst();
  return Boolean(row);
}

export async function insertChallenge(
  db: DbOrTrx,
  challenge: { challenge: string; purpose: ChallengePurpose; session_id: string | null; expires_at: Date },
) {
  await db.deleteFrom('passkey_challenges').where('expires_at', '<=', new Date()).execute();
  await db.insertInto('passkey_challenges').values(challenge).execute();
}

/**
 * Uses a challenge: one statement, so it can serve one ceremony only. A registration's challenge is
 * only good for the session it was given to; a sign-in's belongs to no session.
 */
export async function consumeChallenge(
  db: DbOrTrx,
  challenge: string,
  purpose: ChallengePurpose,
  sessionId: string | null,
  now: Date,
): Promise<boolean> {
  const row = await db
    .deleteFrom('passkey_challenges')
    .where('challenge', '=', challenge)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', now)
    .where((eb) => (sessionId ? eb('session_id', '=', sessionId) : eb('session_id', 'is', null)))
    .returning('challenge')
    .executeTakeFirst();
  return Boolean(row);
}

export async function setSessionAuthenticatedBy(db: DbOrTrx, sessionId: string) {
  await db.updateTable('sessions').set({ authenticated_by: 'passkey' }).where('id', '=', sessionId).execute();
}
