import {
  adminTokenFrom,
  alternatingRounds,
  cpuPerRequest,
  createBenchDatabase,
  failures,
  type LoadResult,
  mean,
  ratioResult,
  roundRobin,
  startBaseline,
  startService,
} from './lib.ts';
import { seedMeetingApplications } from './seed.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: GET /applications/{id} (the full view: criteria, answers, evidence counts, panel,
 * allowedEvents and blockers for the caller) against a bare Fastify route answering the same
 * application's row, answers and evidence counts from one hand-written query (bench/baseline-server.ts)
 * on the same database with a pool of the same size; the same GET revalidated with `If-None-Match`
 * (304) against that route too.
 */
/** SPEC §8 asks that a current ETag answers 304: a revalidation answered otherwise misses the target. */
const notModifiedResult = (result: BenchResult, not304: number): BenchResult => ({
  ...result,
  target: `${result.target}, every answer 304`,
  pass: result.pass && not304 === 0,
});

export const readBench: BenchModule = {
  title: 'Reading an application (GET /applications/{id})',
  async run({ quick, databaseUrl, ...options }: BenchOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const database = await createBenchDatabase(databaseUrl, 'read');
    try {
      // The first start creates the admin (whose token seeds the read).
      const first = await startService(database.url);
      const adminToken = adminTokenFrom(first.output);
      await first.stop();

      // The read.
      const service = await startService(
        database.url,
        { JOBS_WORKER: '0' },
        process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [],
      );
      const baseline = await startBaseline(database.url);
      try {
        const seed = await seedMeetingApplications(service.url, adminToken, database.url, 50);
        const headers = { authorization: `Bearer ${seed.leadToken}` };
        // Each application's ETag as the lead sees it, for the revalidating client.
        const etags = new Map<string, string>();
        for (const id of seed.ids) {
          const res = await fetch(`${service.url}/applications/${id}`, { headers });
          await res.arrayBuffer();
          const etag = res.headers.get('etag');
          if (res.status !== 200 || !etag)
            throw new Error(`GET /applications/${id}: ${res.status}, ETag ${etag}`);
          etags.set(id, etag);
        }
        const ids = roundRobin(seed.ids);
        const get = (prefix: string) => () => ({
          method: 'GET' as const,
          path: `${prefix}/applications/${ids()}`,
          headers,
        });
        const revalidate = () => {
          const id = ids();
          return {
            method: 'GET' as const,
            path: `/applications/${id}`,
            headers: { ...headers, 'if-none-match': etags.get(id) as string },
          };
        };
        const seconds = options.seconds ?? (quick ? 3 : 10);
        const rounds = options.rounds ?? (quick ? 2 : 3);
        const runs = await alternatingRounds(
          {
            bare: { url: baseline.url, next: get('/bare'), pid: baseline.process.pid },
            ours: { url: service.url, next: get(''), pid: service.process.pid },
            revalidated: { url: service.url, next: revalidate, pid: service.process.pid },
          },
          { rounds, seconds, warmupSeconds: quick ? 1 : 3, databaseUrl: database.url },
        );
        const p99 = (rs: LoadResult[]) => Math.round(mean(rs.map((r) => r.p99)));
        const how = `${rounds} × ${seconds} s rounds each, alternating, 50 connections, pool of 10, as the area's lead, over ${seed.ids.length} applications in \`meeting\``;
        const bareRps = mean(runs.bare.map((r) => r.rps));
        results.push(
          ratioResult(
            'read.application',
            mean(runs.ours.map((r) => r.rps)),
            bareRps,
            'req/s',
            0.9,
            `${how}; p99 ours ${p99(runs.ours)} ms, baseline ${p99(runs.bare)} ms; CPU per request (the serving process + Postgres's backends) ours ${cpuPerRequest(runs.ours)}, baseline ${cpuPerRequest(runs.bare)}; requests not answered 200: ours ${failures(runs.ours)}, baseline ${failures(runs.bare)}`,
          ),
          notModifiedResult(
            ratioResult(
              'read.application.notModified',
              mean(runs.revalidated.map((r) => r.rps)),
              bareRps,
              'req/s',
              1,
              `GET with If-None-Match: the ETag read before (current): every answer must be 304; ${how}; p99 ${p99(runs.revalidated)} ms; CPU per request ${cpuPerRequest(runs.revalidated)}; requests not answered 304: ${failures(runs.revalidated, 304)}`,
            ),
            failures(runs.revalidated, 304),
          ),
        );
      } finally {
        await baseline.stop();
        await service.stop();
      }
      return results;
    } finally {
      await database.drop();
    }
  },
};
