import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { CLAIM_LEASE_MS, retryDelayMs } from '../jobs/backoff.ts';

export type EmailSummary = { sent: number; retried: number; failed: number; skipped: number };

type Mailer = {
  send(message: { to: string; subject: string; text: string; html: string }): Promise<void>;
  close(): void;
};

/** An SMTP transport from the configuration, or null when none is configured. */
export async function createMailer(smtp: Config['smtp']): Promise<Mailer | null> {
  if (!smtp.url && !smtp.host) return null;
  // Loaded only where mail is configured, not at every start.
  const { default: nodemailer } = await import('nodemailer');
  const transport = smtp.url
    ? nodemailer.createTransport(smtp.url)
    : nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      });
  return {
    async send(message) {
      await transport.sendMail({ from: smtp.from, ...message });
    },
    close: () => transport.close(),
  };
}

/**
 * Sends the pending notifications due by `now`. Rows are claimed (SKIP LOCKED, then leased by moving
 * `next_attempt_at`) and sent outside any transaction, so a slow mail server never holds a lock; a
 * worker that dies mid-send leaves the row to be retried when the lease ends. No SMTP configured:
 * the rows are marked skipped (they stay readable at GET /me/notifications).
 */
export async function deliverEmails(
  db: Db,
  config: Pick<Config, 'smtp' | 'jobs'>,
  now: Date,
  batch = 50,
): Promise<EmailSummary> {
  const summary: EmailSummary = { sent: 0, retried: 0, failed: 0, skipped: 0 };
  const mailer = await createMailer(config.smtp);
  try {
    for (;;) {
      const claimed = await db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('notifications')
          .select(['id', 'email_to', 'subject', 'body_text', 'body_html', 'attempts'])
          .where('email_status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .limit(batch)
          .forUpdate()
          .skipLocked()
          .execute();
        if (rows.length) {
          await trx
            .updateTable('notifications')
            .set(
              mailer
                ? { next_attempt_at: new Date(now.getTime() + CLAIM_LEASE_MS) }
                : { email_status: 'skipped', last_error: 'No SMTP server is configured' },
            )
            .where(
              'id',
              'in',
              rows.map((r) => r.id),
            )
            .execute();
        }
        return rows;
      });
      if (!claimed.length) return summary;
      if (!mailer) {
        summary.skipped += claimed.length;
        continue;
      }
      for (const row of claimed) {
        const attempts = row.attempts + 1;
        try {
          await mailer.send({
            to: row.email_to,
            subject: row.subject,
            text: row.body_text,
            html: row.body_html,
          });
          await db
            .updateTable('notifications')
            .set({ email_status: 'sent', attempts, sent_at: now, last_error: null })
            .where('id', '=', row.id)
            .execute();
          summary.sent++;
        } catch (err) {
          const giveUp = attempts >= config.smtp.maxAttempts;
          await db
            .updateTable('notifications')
            .set({
              attempts,
              last_error: String((err as Error)?.message ?? err).slice(0, 500),
              ...(giveUp
                ? { email_status: 'failed' as const }
                : {
                    next_attempt_at: new Date(
                      now.getTime() + retryDelayMs(attempts, config.jobs.retryBaseSeconds),
                    ),
                  }),
            })
            .where('id', '=', row.id)
            .execute();
          if (giveUp) summary.failed++;
          else summary.retried++;
        }
      }
      if (claimed.length < batch) return summary;
    }
  } finally {
    mailer?.close();
  }
}
