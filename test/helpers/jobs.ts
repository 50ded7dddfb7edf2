import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import type { Config } from '../../src/config.ts';
import type { Db } from '../../src/db/index.ts';
import { runJobsOnce, type TickSummary } from '../../src/jobs/worker.ts';
import { event, ok, readyDraft, review, SCHOOL_CODES, toReviewing } from './applications.ts';
import type { Actor, World } from './world.ts';

export const DAY_MS = 86_400_000;
export const shift = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS);

/** One pass of the background work at `now`, as `npm run cli -- tick --now` runs it. */
export const tick = (db: Db, config: Config, now: Date): Promise<TickSummary> => runJobsOnce(db, config, now);

/** Drives a fresh application of organisation A to `awarded`; returns it, its award and its panel. */
export async function awardedApplication(
  app: FastifyInstance,
  w: World,
  label: string,
): Promise<{ applicationId: string; awardId: string; panel: Actor[] }> {
  const applicationId = await readyDraft(app, w);
  ok(await event(w.applicantA, applicationId, { type: 'SUBMIT' }));
  const panel = await toReviewing(app, w, applicationId, label);
  for (const member of panel) ok(await event(member, applicationId, review('met')));
  const decided = ok(
    await event(w.leadA, applicationId, {
      type: 'DECIDE',
      outcome: 'award',
      rationale: 'Every criterion met',
    }),
  );
  return { applicationId, awardId: decided.awardId, panel };
}

/** To `furtherEvidenceRequested` with E2 due by `dueBy`. */
export async function furtherEvidenceRequested(app: FastifyInstance, w: World, label: string, dueBy: string) {
  const applicationId = await readyDraft(app, w);
  ok(await event(w.applicantA, applicationId, { type: 'SUBMIT' }));
  const panel = await toReviewing(app, w, applicationId, label);
  for (const member of panel) ok(await event(member, applicationId, review('met')));
  const criteria = Object.fromEntries(SCHOOL_CODES.map((c) => [c, c === 'E2' ? 'further_evidence' : 'met']));
  ok(
    await event(w.leadA, applicationId, {
      type: 'DECIDE',
      outcome: 'further_evidence',
      rationale: 'Pupil voice needs showing',
      criteria,
      requests: [{ criterion: 'E2', request: 'Minutes of the pupil council' }],
      dueBy,
    }),
  );
  return { applicationId, panel };
}

export type ReceivedMail = { from: string; to: string[]; subject: string; raw: string };

/** Decodes RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(
            data
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_x, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

/** A real SMTP server on loopback that keeps what arrives; no TLS or auth (nodemailer then sends in plain). */
export async function startSmtpServer(): Promise<{
  url: string;
  mails: ReceivedMail[];
  close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
        const subject = decodeHeader(/^subject: (.*)$/im.exec(headers)?.[1] ?? '');
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type ReceivedHook = { headers: IncomingMessage['headers']; body: string };

/** A loopback HTTP receiver for webhooks; `status` decides what the next deliveries are answered. */
export async function startHookReceiver(): Promise<{
  url: string;
  received: ReceivedHook[];
  answer: { status: number };
  close(): Promise<void>;
}> {
  const received: ReceivedHook[] = [];
  const answer = { status: 200 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answer,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
