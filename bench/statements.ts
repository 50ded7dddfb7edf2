import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { ensureFirstAdmin, prepareDatabase } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/db/index.ts';
import { api, createBenchDatabase, POOL_SIZE } from './lib.ts';
import { scheduleMeetingBody, seedMeetingApplications } from './seed.ts';

/**
 * `node bench/statements.ts`: what each hot request asks of Postgres. Runs the service in this process
 * on a fresh bench database, records every statement its pg clients send (BEGIN and COMMIT included,
 * with the time each took to answer), sends each request one at a time, and prints the statements per
 * request beside the bare routes' (bench/baseline-server.ts: 5 for an event, 1 for a read).
 * Requests: SCHEDULE_MEETING as the lead (the events bench), GET /applications/{id} as the lead (the
 * read bench), the same with If-None-Match, and GET of a draft as its applicant (where SUBMIT's guard
 * facts are previewed).
 */

/** A statement sent: its text, its parameters' size (bytes as text) and the time to its answer. */
type Statement = { text: string; bytes: number; ms: number };
let recording: Statement[] | null = null;
// biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this only observes them.
const query = pg.Client.prototype.query as (this: pg.Client, ...args: any[]) => any;
// biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this only observes them.
pg.Client.prototype.query = function (this: pg.Client, config: any, values?: any, callback?: any): any {
  const text = typeof config === 'string' ? config : String(config?.text ?? '');
  const params: unknown[] = (Array.isArray(values) ? values : config?.values) ?? [];
  const bytes =
    Buffer.byteLength(text) +
    params.reduce<number>((sum, v) => sum + (v == null ? 0 : Buffer.byteLength(String(v))), 0);
  const started = performance.now();
  const result = query.call(this, config, values, callback);
  const log = recording;
  if (log && result && typeof result.then === 'function') {
    result.then(
      () => log.push({ text, bytes, ms: performance.now() - started }),
      () => log.push({ text: `(failed) ${text}`, bytes, ms: performance.now() - started }),
    );
  }
  return result;
};

const serverUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const samples = Number(process.env.BENCH_SAMPLES ?? 20);
const database = await createBenchDatabase(serverUrl, 'statements');
const dataDir = await mkdtemp(join(tmpdir(), 'sa-bench-statements-'));
const handle = createDatabase({ databaseUrl: database.url, poolSize: POOL_SIZE });
try {
  await prepareDatabase(handle.db);
  const first = await ensureFirstAdmin(handle.db, 'admin@bench.example');
  const config = loadConfig({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    AUTH_FAILURES_PER_MINUTE: '100000',
  });
  const app = await buildApp({ config, database: handle, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const seed = await seedMeetingApplications(base, first?.token as string, database.url, 20);
  const lead = { authorization: `Bearer ${seed.leadToken}` };

  // A draft of a new organisation, read by its applicant.
  const admin = api(base, first?.token as string);
  const leadApi = api(base, seed.leadToken);
  const areaId = (await leadApi('GET', `/applications/${seed.ids[0]}`)).areaId as string;
  const streamId = (await leadApi('GET', `/applications/${seed.ids[0]}`)).streamId as string;
  const orgId = (
    await leadApi('POST', '/organisations', { name: 'Draft Primary', streamId, areaId, phase: 'primary' })
  ).id as string;
  const applicantUser = await admin('POST', '/users', {
    email: 'drafter@bench.example',
    name: 'Drafter',
    grants: [{ role: 'applicant', organisationId: orgId }],
  });
  const applicantToken = (await admin('POST', `/users/${applicantUser.id}/tokens`, {})).token as string;
  const applicant = { authorization: `Bearer ${applicantToken}` };
  const draftId = (await api(base, applicantToken)('POST', '/applications', { organisationId: orgId }))
    .id as string;

  // The lead's current ETag of the read scenarios' application, read once the events scenario is done.
  let etag = '';
  const scenarios: {
    name: string;
    bare: number;
    prepare?: () => Promise<void>;
    send: (i: number) => Promise<Response>;
  }[] = [
    {
      name: 'POST /applications/{id}/events (SCHEDULE_MEETING, lead)',
      bare: 5,
      send: (i) =>
        fetch(`${base}/applications/${seed.ids[i % seed.ids.length]}/events`, {
          method: 'POST',
          headers: { ...lead, 'content-type': 'application/json' },
          body: scheduleMeetingBody(),
        }),
    },
    {
      name: 'GET /applications/{id} (lead, meeting)',
      bare: 1,
      send: () => fetch(`${base}/applications/${seed.ids[1]}`, { headers: lead }),
    },
    {
      name: 'GET /applications/{id} with If-None-Match (lead)',
      bare: 1,
      prepare: async () => {
        etag = String(
          (await fetch(`${base}/applications/${seed.ids[1]}`, { headers: lead })).headers.get('etag'),
        );
      },
      send: () =>
        fetch(`${base}/applications/${seed.ids[1]}`, { headers: { ...lead, 'if-none-match': String(etag) } }),
    },
    {
      name: 'GET /applications/{id} (applicant, draft)',
      bare: 1,
      send: () => fetch(`${base}/applications/${draftId}`, { headers: applicant }),
    },
  ];

  for (const scenario of scenarios) {
    await scenario.prepare?.();
    // Warm: principal cache, criteria cache, prepared statements.
    for (let i = 0; i < 3; i++) await (await scenario.send(i)).arrayBuffer();
    const perRequest: Statement[][] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < samples; i++) {
      recording = [];
      const res = await scenario.send(i + 3);
      await res.arrayBuffer();
      statuses.add(res.status);
      perRequest.push(recording);
      recording = null;
    }
    const all = perRequest.flat();
    const byText = new Map<string, { count: number; ms: number; bytes: number }>();
    for (const s of all) {
      const entry = byText.get(s.text) ?? { count: 0, ms: 0, bytes: 0 };
      entry.count++;
      entry.ms += s.ms;
      entry.bytes += s.bytes;
      byText.set(s.text, entry);
    }
    console.log(
      `\n${scenario.name}: ${(all.length / samples).toFixed(1)} statements per request (bare route: ${scenario.bare}), ` +
        `${(all.reduce((t, s) => t + s.ms, 0) / samples).toFixed(2)} ms in them, ` +
        `${Math.round(all.reduce((t, s) => t + s.bytes, 0) / samples)} bytes of text and parameters; statuses ${[...statuses].join(', ')}`,
    );
    for (const [text, { count, ms, bytes }] of byText) {
      const oneLine = text.replace(/\s+/g, ' ').trim();
      console.log(
        `  ${(count / samples).toFixed(1).padStart(4)} × ${(ms / count).toFixed(2).padStart(6)} ms ${String(Math.round(bytes / count)).padStart(6)} B  ${oneLine.length > 150 ? `${oneLine.slice(0, 147)}…` : oneLine}`,
      );
    }
  }
  await app.close();
} finally {
  await handle.close();
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
}
