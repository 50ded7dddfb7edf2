import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import {
  adminTokenFrom,
  createBenchDatabase,
  maxResult,
  ROOT,
  round,
  startService,
  withClient,
} from './lib.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: lists, dashboards, the register and CSV export at national scale. Seeds the network with
 * `npm run cli -- seed-demo` (10,000 organisations, 100,000 applications; --quick: a tenth), then
 * measures, one request at a time so each figure is the server's own latency:
 * - p50/p95 of an area dashboard (the busiest area, as its lead), the national summary (admin), a
 *   filtered list page of applications, awards and organisations, and register pages;
 * - a full CSV export of every application: time, and the server's peak RSS above its RSS before
 *   the export, against a ~1,000-row export (constant memory: the two should be about the same).
 * Set BENCH_KEEP_DB=1 to keep the seeded database (for EXPLAIN ANALYZE).
 */

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Runs `fn` while sampling the process's RSS every 10 ms; returns the peak above the RSS before. */
async function peakRssDuring<T>(
  pid: number,
  fn: () => Promise<T>,
): Promise<{ result: T; before: number; peak: number }> {
  const before = await rssKb(pid);
  let peak = before;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rssKb(pid));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    const result = await fn();
    return { result, before, peak };
  } finally {
    running = false;
    await sampler;
  }
}

async function seed(url: string, organisations: number, applications: number) {
  const child = spawn(
    process.execPath,
    [
      'src/cli.ts',
      'seed-demo',
      '--organisations',
      String(organisations),
      '--applications',
      String(applications),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`seed-demo exited ${code}`);
  return JSON.parse(out) as {
    applications: number;
    applicationEvents: number;
    organisations: number;
    seconds: number;
  };
}

export const reportsBench: BenchModule = {
  title: 'Dashboards, lists, the register and CSV export at national scale (SPEC §1, §8)',
  async run({ quick, databaseUrl }: BenchOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const organisations = quick ? 1000 : 10_000;
    const applications = quick ? 10_000 : 100_000;
    const samples = quick ? 30 : 200;
    const database = await createBenchDatabase(databaseUrl, 'reports');
    let service: Awaited<ReturnType<typeof startService>> | null = null;
    try {
      service = await startService(database.url, { LOG_LEVEL: 'warn' });
      const adminToken = adminTokenFrom(service.output);
      const seeded = await seed(database.url, organisations, applications);
      results.push({
        name: 'reports.seed',
        value: seeded.seconds,
        baseline: null,
        ratio: null,
        unit: 's',
        target: 'informational',
        pass: true,
        notes: `seed-demo --organisations ${organisations} --applications ${applications}: ${seeded.applications} applications, ${seeded.applicationEvents} history events, replayed through the workflow machines`,
      });

      // The busiest area's lead.
      const busiest = await withClient(database.url, async (c) => {
        const r = await c.query(
          `select o.area_id, g.user_id from applications a join organisations o on o.id = a.organisation_id
           join grants g on g.area_id = o.area_id and g.role = 'lead' group by 1, 2 order by count(*) desc limit 1`,
        );
        return r.rows[0] as { area_id: string; user_id: string };
      });
      const base = service.url;
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      const issued = await fetch(`${base}/users/${busiest.user_id}/tokens`, {
        method: 'POST',
        headers: { ...auth(adminToken), 'content-type': 'application/json' },
        body: '{}',
      });
      const leadToken = ((await issued.json()) as { token: string }).token;

      // A cursor deep into the register and the admin's list, to show keyset pages cost the same at any depth.
      const deepCursor = async (path: string, token: string | null, pages: number) => {
        let cursor: string | null = null;
        for (let i = 0; i < pages; i++) {
          const res = await fetch(
            `${base}${path}${path.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${cursor}` : ''}`,
            { headers: token ? auth(token) : {} },
          );
          cursor = ((await res.json()) as { nextCursor: string | null }).nextCursor;
          if (!cursor) break;
        }
        return cursor;
      };
      const registerDeep = await deepCursor('/register', null, 20);
      const listDeep = await deepCursor('/applications', adminToken, 100);

      const pages: [name: string, path: string, token: string | null][] = [
        ['dashboard.area', `/areas/${busiest.area_id}/dashboard`, leadToken],
        ['dashboard.national', '/dashboard', adminToken],
        ['list.applications.lead', '/applications?limit=50', leadToken],
        ['list.applications.filtered', '/applications?status=appraisal&sort=-updatedAt&limit=50', adminToken],
        ['list.applications.search', '/applications?q=primary&kind=renewal&limit=50', adminToken],
        [
          'list.applications.deep',
          `/applications?limit=50${listDeep ? `&cursor=${listDeep}` : ''}`,
          adminToken,
        ],
        [
          'list.awards.expiring',
          `/awards?current=true&expiringBefore=${new Date(Date.now() + 90 * 86_400_000).toISOString()}&sort=expiresAt&limit=50`,
          adminToken,
        ],
        ['list.organisations.search', '/organisations?q=riverside&pledged=true&limit=50', adminToken],
        ['register.page', '/register?limit=50', null],
        ['register.filtered', '/register?nation=england&stream=schools&name=academy&limit=50', null],
        ['register.deep', `/register?limit=50${registerDeep ? `&cursor=${registerDeep}` : ''}`, null],
      ];
      for (const [name, path, token] of pages) {
        const times: number[] = [];
        for (let i = 0; i < samples + 5; i++) {
          const started = performance.now();
          const res = await fetch(`${base}${path}`, { headers: token ? auth(token) : {} });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
          if (i >= 5) times.push(performance.now() - started); // the first few warm the caches
        }
        const p95 = percentile(times, 95);
        results.push(
          maxResult(
            `reports.${name}.p95`,
            p95,
            50,
            'ms',
            null,
            `GET ${path.replace(/cursor=[^&]+/, 'cursor=…')}: p50 ${round(percentile(times, 50), 1)} ms, p95 ${round(p95, 1)} ms over ${times.length} sequential requests`,
          ),
        );
      }

      // SPEC §8's pages (§9) at the same scale, as the people who use them: a session cookie each.
      const people = await withClient(database.url, async (c) => {
        const reviewing = await c.query(
          `select a.id, a.snapshot->'context'->'panel'->>0 as appraiser_id from applications a
             join organisations o on o.id = a.organisation_id
            where o.area_id = $1 and a.state = 'appraisal.reviewing'
              and jsonb_array_length(a.snapshot->'context'->'panel') > 0 limit 1`,
          [busiest.area_id],
        );
        const member = await c.query(
          `select a.id, g.user_id from applications a join grants g
             on g.organisation_id = a.organisation_id and g.role = 'applicant'
            where a.status = 'draft' limit 1`,
        );
        return {
          reviewing: reviewing.rows[0] as { id: string; appraiser_id: string } | undefined,
          draft: member.rows[0] as { id: string; user_id: string } | undefined,
        };
      });
      const sessionOf = async (userId: string) => {
        const value = randomBytes(32).toString('base64url');
        await withClient(database.url, (c) =>
          c.query(
            `insert into sessions (user_id, token_hash, expires_at) values ($1, $2, now() + interval '1 day')`,
            [userId, createHash('sha256').update(value).digest('hex')],
          ),
        );
        return `__Host-sa_session=${value}`;
      };
      const webPages: [name: string, path: string, userId: string | undefined][] = [
        ['page.leadDashboard', `/lead?area=${busiest.area_id}`, busiest.user_id],
        ['page.leadApplication', `/lead/applications/${people.reviewing?.id}`, busiest.user_id],
        ['page.review', `/review/${people.reviewing?.id}`, people.reviewing?.appraiser_id],
        ['page.schoolTasks', `/apply/${people.draft?.id}`, people.draft?.user_id],
      ];
      for (const [name, path, userId] of webPages) {
        if (!userId || path.includes('undefined')) continue;
        const cookie = await sessionOf(userId);
        const times: number[] = [];
        for (let i = 0; i < samples + 5; i++) {
          const started = performance.now();
          const res = await fetch(`${base}${path}`, { headers: { cookie, accept: 'text/html' } });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
          if (i >= 5) times.push(performance.now() - started);
        }
        const p95 = percentile(times, 95);
        results.push(
          maxResult(
            `reports.${name}.p95`,
            p95,
            50,
            'ms',
            null,
            `GET ${path} (a page, signed in by session): p50 ${round(percentile(times, 50), 1)} ms, p95 ${round(p95, 1)} ms over ${times.length} sequential requests`,
          ),
        );
      }

      // CSV export: every application as admin, against one area's (~1/140 of the rows).
      const exportCsv = async (path: string) =>
        peakRssDuring(service?.process.pid as number, async () => {
          const started = performance.now();
          const res = await fetch(`${base}${path}`, { headers: { ...auth(adminToken), accept: 'text/csv' } });
          let bytes = 0;
          let rows = 0;
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            bytes += chunk.length;
            for (const b of chunk) if (b === 10) rows++;
          }
          return { ms: performance.now() - started, bytes, rows: rows - 1 };
        });
      const small = await exportCsv(`/applications?areaId=${busiest.area_id}`);
      const full = await exportCsv('/applications');
      const smallGrowth = (small.peak - small.before) / 1024;
      const fullGrowth = (full.peak - full.before) / 1024;
      results.push(
        maxResult(
          'reports.csv.full.time',
          full.result.ms / 1000,
          60,
          's',
          null,
          `${full.result.rows} rows, ${round(full.result.bytes / 1048576, 1)} MiB, ${Math.round(full.result.rows / (full.result.ms / 1000))} rows/s`,
        ),
        {
          name: 'reports.csv.full.rssGrowth',
          value: round(fullGrowth, 1),
          baseline: round(smallGrowth, 1),
          ratio: null,
          unit: 'MiB',
          target: '≤ 64 MiB above the RSS before the export, like a small export',
          pass: fullGrowth <= 64,
          notes: `server RSS before ${round(full.before / 1024, 1)} MiB, peak ${round(full.peak / 1024, 1)} MiB during the ${full.result.rows}-row export; baseline: the ${small.result.rows}-row export grew ${round(smallGrowth, 1)} MiB`,
        },
      );
      return results;
    } finally {
      await service?.stop();
      if (!process.env.BENCH_KEEP_DB) await database.drop();
      else console.error(`reports bench: kept database ${database.name}`);
    }
  },
};

export default reportsBench;
