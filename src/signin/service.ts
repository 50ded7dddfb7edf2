import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { secretForPerson } from '../console.ts';
import type { Db, DbOrTrx } from '../db/index.ts';
import type { Locale } from '../db/schema.ts';
import { notFound } from '../domain/errors.ts';
import { type Principal, principalFromGrants } from '../domain/principal.ts';
import { createMailer } from '../notifications/delivery.ts';
import { WindowLimiter } from './limiter.ts';
import { type LinkMessage, type OfferSummary, renderLinkMessage } from './messages.ts';
import * as repo from './repository.ts';

/**
 * Sign-in for people (SPEC §10): single-use e-mail links, invitations, and server-side sessions.
 *
 * Every secret (link token, session cookie) is 32 random bytes shown once and stored only as its
 * SHA-256, so neither a database leak nor a log opens an account. A link is never written to a table in
 * clear, nor logged: with SMTP it goes straight to the mailer (not the outbox); without, it is printed
 * for the person at the console (or a file only the service's user can read). Asking for a link answers
 * the same whether or not the address has an account, and the work happens after the answer, so its
 * timing does not tell either.
 */

const HOUR_MS = 3_600_000;
/** A session's last use is written at most this often: pages stay reads. */
const TOUCH_EVERY_MS = 60_000;
const USER_AGENT_MAX = 300;

export const newSecret = () => randomBytes(32).toString('base64url');
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export type SignInOptions = {
  config: Pick<Config, 'signIn' | 'sessions' | 'smtp' | 'dataDir'>;
  /** The origin links point at: PUBLIC_URL, else where this server listens (never a request's Host). */
  baseUrl: () => string;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
};

export type SessionInfo = {
  principal: Principal;
  sessionId: string;
  locale: Locale | null;
  /** How the session was opened: by an e-mail link, or by a passkey. */
  authenticatedBy: repo.AuthenticatedBy;
};

/** What a browser tells about itself when a session is opened. */
export type DeviceInfo = { userAgent: string | undefined; chosenLocale: Locale | null };

export type Device = {
  id: string;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  current: boolean;
};

export type SignIn = ReturnType<typeof createSignIn>;

export function createSignIn(options: SignInOptions) {
  const { config, baseUrl, log } = options;
  const perAddress = new WindowLimiter(config.signIn.perAddressPerHour, HOUR_MS);
  const perClient = new WindowLimiter(config.signIn.perClientPerHour, HOUR_MS);
  const pending = new Set<Promise<void>>();
  let mailer: ReturnType<typeof createMailer> | undefined;
  const emailConfigured = Boolean(config.smtp.url || config.smtp.host);
  /** Whether the console has named the file links are written to (when there is no terminal). */
  let namedFile = false;

  const idleSince = (now: Date) => new Date(now.getTime() - config.sessions.idleMinutes * 60_000);

  /** Makes a link for a person: the row holds its hash; the link itself only travels to them. */
  async function issueLink(
    db: Db,
    user: { id: string },
    purpose: repo.LinkPurpose,
    createdBy: string | null,
    validMs: number,
  ) {
    const token = newSecret();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + validMs);
    await repo.deleteDeadLinks(db, now);
    await repo.insertLink(db, {
      user_id: user.id,
      token_hash: hashSecret(token),
      purpose,
      created_by: createdBy,
      expires_at: expiresAt,
    });
    return { link: `${baseUrl()}/sign-in/link?token=${token}`, expiresAt };
  }

  /** Sends the link by e-mail, or, with no SMTP configured, writes it for the person at the console. */
  async function deliver(to: string, message: LinkMessage): Promise<'email' | 'console'> {
    if (!emailConfigured) {
      const what = message.purpose === 'invitation' ? 'Invitation' : 'Sign-in link';
      const line = `${what} for ${to} (valid until ${message.expiresAt.toISOString()}): ${message.link}`;
      const lines = secretForPerson(config.dataDir, 'sign-in-links.txt', [line]);
      // Written to the file, the console says where once, not at every link (invitations come in numbers).
      const toFile = lines[0] !== line;
      if (!toFile || !namedFile) process.stdout.write(`${lines.join('\n')}\n`);
      namedFile ||= toFile;
      return 'console';
    }
    mailer ??= createMailer(config.smtp);
    const transport = await mailer;
    await transport?.send({ to, ...renderLinkMessage(message) });
    return 'email';
  }

  const signIn = {
    emailConfigured,
    baseUrl,

    /**
     * Someone asks for a sign-in link for `email`. Nothing is returned and nothing thrown either way:
     * the page says the same thing whether the address has an account, was throttled, or the mail
     * failed (failures are logged without the link). Over the limit per address or per client, no link
     * is made.
     */
    requestLink(db: Db, request: { email: string; client: string; locale: Locale }): void {
      const email = request.email.trim().toLowerCase();
      // Both are counted, so one client cannot spend an address's allowance without spending its own.
      const addressOk = perAddress.take(`address:${email}`);
      const clientOk = perClient.take(`client:${request.client}`);
      if (!addressOk || !clientOk) {
        log.warn({ throttled: addressOk ? 'client' : 'address' }, 'sign-in link not sent: too many requests');
        return;
      }
      const work = (async () => {
        const user = await repo.findUserByEmail(db, email);
        if (!user) return;
        const minutes = config.signIn.linkMinutes;
        const { link, expiresAt } = await issueLink(db, user, 'sign-in', null, minutes * 60_000);
        await deliver(user.email, {
          purpose: 'sign-in',
          name: user.name,
          link,
          expiresAt,
          minutes,
          locale: user.locale ?? request.locale,
        });
      })()
        .catch((err) =>
          log.error({ err: { message: (err as Error)?.message } }, 'sign-in link could not be sent'),
        )
        .finally(() => pending.delete(work));
      pending.add(work);
    },

    /**
     * Sends a person an invitation: a sign-in link valid for INVITATION_LINK_DAYS, worded as an
     * invitation, in their language: to the service (an account made for them), or, with `offer`, to
     * what a lead offered them, which they accept after signing in. Mail failures are thrown to the
     * caller (the person exists either way).
     */
    async sendInvitation(
      db: Db,
      userId: string,
      invitedBy: Pick<Principal, 'userId' | 'name'> | null,
      offer?: OfferSummary,
    ): Promise<{ expiresAt: Date; deliveredBy: 'email' | 'console' }> {
      const user = await repo.findUserById(db, userId);
      if (!user) throw notFound('user');
      const { link, expiresAt } = await issueLink(
        db,
        user,
        'invitation',
        invitedBy?.userId ?? null,
        config.signIn.invitationDays * 24 * HOUR_MS,
      );
      const deliveredBy = await deliver(user.email, {
        purpose: 'invitation',
        name: user.name,
        link,
        expiresAt,
        invitedBy: invitedBy?.name ?? null,
        locale: user.locale ?? 'en',
        offer,
      });
      return { expiresAt, deliveredBy };
    },

    /**
     * The users domain's `Invite` port (src/users/invitations.ts): sends the invitation, and logs a
     * failed delivery (without the link) instead of throwing it. The account or the offer stands
     * either way, the answer to whoever made it is the same, and the person can ask for a sign-in
     * link on the sign-in page.
     */
    async invite(
      db: Db,
      userId: string,
      invitedBy: Pick<Principal, 'userId' | 'name'>,
      offer?: OfferSummary,
    ): Promise<void> {
      try {
        await signIn.sendInvitation(db, userId, invitedBy, offer);
      } catch (err) {
        log.error({ err: { message: (err as Error)?.message } }, 'invitation could not be sent');
      }
    },

    /** What a link is for, while it can be used, without using it (the confirm page). */
    async peekLink(db: Db, token: string) {
      const link = await repo.findUsableLink(db, hashSecret(token), new Date());
      return link ? { purpose: link.purpose, name: link.name, locale: link.locale } : null;
    },

    /**
     * Uses a link and opens a session (see openSession). Null when the link was used, has expired or
     * never existed.
     */
    async confirmLink(
      db: Db,
      token: string,
      device: DeviceInfo,
    ): Promise<{ cookieValue: string; locale: Locale | null } | null> {
      return db.transaction().execute(async (trx) => {
        const used = await repo.consumeLink(trx, hashSecret(token), new Date());
        if (!used) return null;
        return signIn.openSession(trx, used.user_id, device, 'email-link');
      });
    },

    /**
     * Opens a session for a person whose identity was just proven (an e-mail link, a passkey): returns
     * its cookie value (shown once) and the language to use from now on. A language chosen on this
     * device before signing in is the person's latest choice and is stored; otherwise the one stored
     * for them applies.
     */
    async openSession(
      trx: DbOrTrx,
      userId: string,
      device: DeviceInfo,
      authenticatedBy: repo.AuthenticatedBy,
    ): Promise<{ cookieValue: string; locale: Locale | null }> {
      const now = new Date();
      await repo.deleteEndedSessions(trx, userId, idleSince(now), now);
      const cookieValue = newSecret();
      await repo.insertSession(trx, {
        user_id: userId,
        token_hash: hashSecret(cookieValue),
        user_agent: device.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
        expires_at: new Date(now.getTime() + config.sessions.maxHours * HOUR_MS),
        authenticated_by: authenticatedBy,
      });
      if (device.chosenLocale) {
        await repo.setUserLocale(trx, userId, device.chosenLocale);
        return { cookieValue, locale: device.chosenLocale };
      }
      const user = await repo.findUserById(trx, userId);
      return { cookieValue, locale: user?.locale ?? null };
    },

    /** The person behind a session cookie, while the session lives (idle and absolute expiry). */
    async sessionFor(db: Db, cookieValue: string): Promise<SessionInfo | null> {
      if (!cookieValue || cookieValue.length > 100) return null;
      const now = new Date();
      const row = await repo.findLiveSession(db, hashSecret(cookieValue), idleSince(now), now);
      if (!row) return null;
      if (now.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS)
        await repo.touchSession(db, row.sessionId, now);
      return {
        principal: principalFromGrants(row, `session:${row.sessionId}`, row.grants),
        sessionId: row.sessionId,
        locale: row.locale,
        authenticatedBy: row.authenticatedBy,
      };
    },

    async signOut(db: Db, cookieValue: string) {
      if (cookieValue) await repo.revokeSessionByHash(db, hashSecret(cookieValue), new Date());
    },

    /** The person's live sessions, most recently used first. */
    async devices(db: Db, session: SessionInfo): Promise<Device[]> {
      const now = new Date();
      const rows = await repo.listLiveSessions(db, session.principal.userId, idleSince(now), now);
      return rows.map((r) => ({
        id: r.id,
        userAgent: r.user_agent,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        current: r.id === session.sessionId,
      }));
    },

    /** Ends one of the person's own sessions; anyone else's is not found. */
    async revokeDevice(db: Db, session: SessionInfo, sessionId: string) {
      if (!(await repo.revokeSession(db, session.principal.userId, sessionId, new Date())))
        throw notFound('session');
    },

    async rememberLocale(db: Db, userId: string, locale: Locale) {
      await repo.setUserLocale(db, userId, locale);
    },

    /** Waits for links still being sent (before the database closes). */
    async drain() {
      await Promise.allSettled([...pending]);
    },

    async close() {
      await Promise.allSettled([...pending]);
      (await mailer)?.close();
    },
  };
  return signIn;
}
