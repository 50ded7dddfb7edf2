import { type Config, publicBaseUrl } from '../config.ts';
import type { Db } from '../db/index.ts';
import { deliverEmails, type EmailSummary } from '../notifications/delivery.ts';
import { type FanOutSummary, fanOutNotifications } from '../notifications/fan-out.ts';
import { pageLinks } from '../notifications/links.ts';
import { deliverWebhooks, type WebhookSummary } from '../webhooks/delivery.ts';
import { runDueTimers, type TimerSummary } from './fire.ts';
import { type ReminderSummary, runReminders } from './reminders.ts';

export type TickSummary = {
  now: string;
  timers: TimerSummary;
  reminders: ReminderSummary;
  notifications: FanOutSummary;
  emails: EmailSummary;
  webhooks: WebhookSummary;
};

type Log = { info(data: object, msg: string): void; warn(data: object, msg: string): void };

/**
 * One pass of the background work, as `npm run cli -- tick` and the server's loop run it: due timers,
 * then reminders, then the outbox (the events' notifications, then e-mail and webhooks). Idempotent:
 * a second pass at the same instant finds nothing more to do.
 */
export async function runJobsOnce(db: Db, config: Config, now: Date, log?: Log): Promise<TickSummary> {
  const info = log ? (msg: string, data: object) => log.info(data, msg) : undefined;
  // E-mails link to pages under PUBLIC_URL, else the listen address.
  const links = pageLinks(publicBaseUrl(config));
  const timers = await runDueTimers(db, now, info);
  const reminders = await runReminders(db, config.reminders, now, { links, log: info });
  const notifications = await fanOutNotifications(db, links);
  const emails = await deliverEmails(db, config, now);
  const webhooks = await deliverWebhooks(db, config, now);
  return { now: now.toISOString(), timers, reminders, notifications, emails, webhooks };
}

/** The server's loop: a pass every JOBS_POLL_INTERVAL_MS on the real clock; `stop` waits for the pass under way. */
export function startJobWorker(db: Db, config: Config, log: Log): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = runJobsOnce(db, config, new Date(), log)
      .then((s) => {
        const worked =
          s.timers.fired +
          s.timers.failed +
          s.reminders.digests +
          s.notifications.notifications +
          s.emails.sent +
          s.emails.retried +
          s.webhooks.delivered +
          s.webhooks.retried;
        if (worked) log.info(s, 'jobs');
      })
      .catch((err) => log.warn({ err: { message: String(err?.message ?? err) } }, 'jobs pass failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, config.jobs.pollIntervalMs);
      });
  };
  timer = setTimeout(loop, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
