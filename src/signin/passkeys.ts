import { isIP } from 'node:net';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { isLeadOrAdmin } from '../domain/access.ts';
import { notFound } from '../domain/errors.ts';
import { passkeysRequired } from '../settings/service.ts';
import { WindowLimiter } from './limiter.ts';
import * as repo from './passkeys-repository.ts';
import type { DeviceInfo, SessionInfo, SignIn } from './service.ts';

/**
 * Passkeys (WebAuthn, SPEC §10): a person signed in by e-mail link registers one, then signs in with
 * it; an admin can require leads and admins to use one. Every challenge is made here, kept in the
 * database for a few minutes and used once (a registration's only by the session that asked for it).
 * The relying party is the service's own address (PUBLIC_URL, else where it listens), never a request's
 * Host header.
 */

const HOUR_MS = 3_600_000;
/** How long a ceremony may take, from the options to the answer. */
export const CEREMONY_MS = 5 * 60_000;
export const PASSKEY_NAME_MAX = 60;
const RP_NAME = 'Sanctuary Awards';

/** Why a passkey was refused, in words the pages translate. */
export type PasskeyProblem = 'unavailable' | 'refused' | 'throttled' | 'duplicate';

export class PasskeyRefused extends Error {
  override name = 'PasskeyRefused';
  readonly problem: PasskeyProblem;
  constructor(problem: PasskeyProblem) {
    super(`passkey ${problem}`);
    this.problem = problem;
  }
}

/** What a lead or admin must still do before other pages open, when an admin requires passkeys. */
export type PasskeyDemand = 'register' | 'use';

export type Passkeys = ReturnType<typeof createPasskeys>;

export function createPasskeys(options: {
  config: Pick<Config, 'signIn'>;
  signIn: SignIn;
  log: { warn(obj: object, msg: string): void };
}) {
  const { config, signIn, log } = options;
  // Attempts are throttled like sign-in links, per client and per credential (as links are per
  // address), both at the clients' rate: a person may well sign in more often than they ask for links.
  const perClient = new WindowLimiter(config.signIn.perClientPerHour, HOUR_MS);
  const perCredential = new WindowLimiter(config.signIn.perClientPerHour, HOUR_MS);
  // Each request for options stores a challenge: counted too, so no client fills the table.
  const optionsPerClient = new WindowLimiter(config.signIn.perClientPerHour, HOUR_MS);

  /**
   * The relying party is the host of the service's address. Browsers refuse an IP address as one
   * (WebAuthn needs a domain name; `localhost` is one), so there passkeys are not offered.
   */
  const relyingParty = () => {
    const url = new URL(signIn.baseUrl());
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { rpID: url.hostname, origin: url.origin, available: isIP(host) === 0 };
  };
  const available = () => relyingParty().available;
  const usableRelyingParty = () => {
    const rp = relyingParty();
    if (!rp.available) throw new PasskeyRefused('unavailable');
    return rp;
  };

  const ceremonyEnd = () => new Date(Date.now() + CEREMONY_MS);
  const consume = (db: Db, purpose: repo.ChallengePurpose, sessionId: string | null) => (challenge: string) =>
    repo.consumeChallenge(db, challenge, purpose, sessionId, new Date());

  /** The person's passkeys, oldest first. */
  async function list(db: Db, session: SessionInfo) {
    const rows = await repo.listPasskeys(db, session.principal.userId);
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
  }

  return {
    available,

    list,

    /** One of the person's own passkeys; anyone else's is not found. */
    async find(db: Db, session: SessionInfo, id: string) {
      const found = (await list(db, session)).find((p) => p.id === id);
      if (!found) throw notFound('passkey');
      return found;
    },

    /** Options for the browser to create a passkey for the signed-in person; the challenge is this session's. */
    async registrationOptions(db: Db, session: SessionInfo): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const { rpID } = usableRelyingParty();
      const { principal } = session;
      const existing = await repo.listPasskeys(db, principal.userId);
      const creation = await generateRegistrationOptions({
        rpName: RP_NAME,
        rpID,
        userName: principal.email,
        userDisplayName: principal.name,
        // The same handle for every passkey of a person, so an authenticator keeps one per person.
        userID: new TextEncoder().encode(principal.userId),
        attestationType: 'none',
        excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: p.transports })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        timeout: CEREMONY_MS,
      });
      await repo.insertChallenge(db, {
        challenge: creation.challenge,
        purpose: 'registration',
        session_id: session.sessionId,
        expires_at: ceremonyEnd(),
      });
      return creation;
    },

    /**
     * Registers the passkey the browser created. The session counts from now on as opened with a
     * passkey: the person has just proven they hold one.
     */
    async register(
      db: Db,
      session: SessionInfo,
      input: { name: string; response: RegistrationResponseJSON },
    ) {
      const { rpID, origin } = usableRelyingParty();
      const verification = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: consume(db, 'registration', session.sessionId),
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: true,
      }).catch((err: Error) => {
        log.warn({ err: { message: err.message } }, 'passkey registration refused');
        return null;
      });
      if (!verification?.verified) throw new PasskeyRefused('refused');
      const { credential } = verification.registrationInfo;
      await db.transaction().execute(async (trx) => {
        const added = await repo.insertPasskey(trx, {
          user_id: session.principal.userId,
          credential_id: credential.id,
          public_key: credential.publicKey,
          counter: credential.counter,
          transports: credential.transports ?? [],
          name: input.name,
        });
        if (!added) throw new PasskeyRefused('duplicate');
        await repo.setSessionAuthenticatedBy(trx, session.sessionId);
      });
    },

    async rename(db: Db, session: SessionInfo, id: string, name: string) {
      if (!(await repo.renamePasskey(db, session.principal.userId, id, name))) throw notFound('passkey');
    },

    async remove(db: Db, session: SessionInfo, id: string) {
      if (!(await repo.deletePasskey(db, session.principal.userId, id))) throw notFound('passkey');
    },

    /**
     * Options for the browser to sign in with a passkey: any passkey of this service the browser
     * holds (discoverable credentials), or, for a signed-in person asked to use theirs, those.
     */
    async authenticationOptions(
      db: Db,
      request: { client: string; session: SessionInfo | null },
    ): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const { rpID } = usableRelyingParty();
      if (!optionsPerClient.take(`client:${request.client}`)) throw new PasskeyRefused('throttled');
      const own = request.session ? await repo.listPasskeys(db, request.session.principal.userId) : [];
      const requestOptions = await generateAuthenticationOptions({
        rpID,
        userVerification: 'required',
        allowCredentials: own.map((p) => ({ id: p.credential_id, transports: p.transports })),
        timeout: CEREMONY_MS,
      });
      await repo.insertChallenge(db, {
        challenge: requestOptions.challenge,
        purpose: 'authentication',
        session_id: null,
        expires_at: ceremonyEnd(),
      });
      return requestOptions;
    },

    /**
     * Signs in with a passkey: checks the assertion (challenge used once, origin, user verification,
     * signature, counter), then opens a session like an e-mail link's, marked as opened by a passkey.
     */
    async authenticate(
      db: Db,
      request: { client: string; response: AuthenticationResponseJSON; device: DeviceInfo },
    ): Promise<{ cookieValue: string; locale: SessionInfo['locale'] }> {
      const { rpID, origin } = usableRelyingParty();
      const { response } = request;
      // Both are counted, so one client cannot spend a credential's allowance without spending its own.
      const clientOk = perClient.take(`client:${request.client}`);
      const credentialOk = perCredential.take(`credential:${response.id}`);
      if (!clientOk || !credentialOk) {
        log.warn(
          { throttled: clientOk ? 'credential' : 'client' },
          'passkey sign-in refused: too many attempts',
        );
        throw new PasskeyRefused('throttled');
      }
      const passkey = await repo.findPasskeyByCredentialId(db, response.id);
      // The user handle, when the authenticator gives one, must be the passkey's owner.
      const handle = response.response.userHandle;
      const owner = passkey && Buffer.from(passkey.user_id).toString('base64url');
      if (!passkey || (handle && handle !== owner)) throw new PasskeyRefused('refused');
      const verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: consume(db, 'authentication', null),
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: {
          id: passkey.credential_id,
          publicKey: new Uint8Array(passkey.public_key),
          counter: Number(passkey.counter),
          transports: passkey.transports,
        },
        requireUserVerification: true,
      }).catch((err: Error) => {
        log.warn({ err: { message: err.message } }, 'passkey sign-in refused');
        return null;
      });
      if (!verification?.verified) throw new PasskeyRefused('refused');
      return db.transaction().execute(async (trx) => {
        const recorded = await repo.recordPasskeyUse(
          trx,
          passkey.id,
          passkey.counter,
          verification.authenticationInfo.newCounter,
          new Date(),
        );
        if (!recorded) throw new PasskeyRefused('refused');
        return signIn.openSession(trx, passkey.user_id, request.device, 'passkey');
      });
    },

    /**
     * What a lead or admin signed in by e-mail link alone must do before other pages open, when an
     * admin requires passkeys: register one (they have none) or use theirs. Nothing for anyone else,
     * for a session opened with a passkey, or where passkeys cannot work (an IP address).
     */
    async demand(db: Db, session: SessionInfo): Promise<PasskeyDemand | null> {
      if (session.authenticatedBy === 'passkey' || !isLeadOrAdmin(session.principal)) return null;
      if (!available() || !(await passkeysRequired(db))) return null;
      return (await repo.hasPasskey(db, session.principal.userId)) ? 'use' : 'register';
    },
  };
}
