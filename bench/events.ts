import {
  adminTokenFrom,
  createBenchDatabase,
  type LoadResult,
  load,
  maxResult,
  mean,
  ratioResult,
  roundRobin,
  startBaseline,
  startService,
} from './lib.ts';
import { scheduleMeetingBody, seedMeetingApplications } from './seed.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: POST /applications/{id}/events throughput with 50 concurrent clients, against a bare
 * Fastify route doing the same SQL by hand (lock row, update, insert history); and its p99 latency.
 * The event is SCHEDULE_MEETING, which the `meeting` state accepts again and again, spread over
 * many applications; service and baseline run in alternating rounds in the same run.
 */
export const eventsBench: BenchModule = {
  title: 'Workflow events (POST /applications/{id}/events)',
  async run({ quick, databaseUrl }: BenchOptions): Promise<BenchResult[]> {
    const database = await createBenchDatabase(databaseUrl, 'events');
    const service = await startService(
      database.url,
      {},
      process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [],
    );
    let baseline: Awaited<ReturnType<typeof startBaseline>> | undefined;
    try {
      const seed = await seedMeetingApplications(
        service.url,
        adminTokenFrom(service.output),
        database.url,
        200,
      );
      baseline = await startBaseline(database.url);
      const headers = { authorization: `Bearer ${seed.leadToken}`, 'content-type': 'application/json' };
      const ids = roundRobin(seed.ids);
      const ours = () => ({
        method: 'POST' as const,
        path: `/applications/${ids()}/events`,
        headers,
        body: scheduleMeetingBody(),
      });
      const bare = () => ({
        method: 'POST' as const,
        path: `/bare/applications/${ids()}/events`,
        headers,
        body: scheduleMeetingBody(),
      });

      const seconds = quick ? 3 : 10;
      const rounds = quick ? 1 : 3;
      await load(service.url, ours, quick ? 1 : 3); // warm-up: JIT, pool, caches
      await load(baseline.url, bare, quick ? 1 : 3);
      const runs: { ours: LoadResult[]; bare: LoadResult[] } = { ours: [], bare: [] };
      for (let i = 0; i < rounds; i++) {
        runs.bare.push(await load(baseline.url, bare, seconds));
        runs.ours.push(await load(service.url, ours, seconds));
      }
      const failed = runs.ours.reduce((n, r) => n + r.errors + r.non2xx, 0);
      const bareFailed = runs.bare.reduce((n, r) => n + r.errors + r.non2xx, 0);
      const rps = mean(runs.ours.map((r) => r.rps));
      const bareRps = mean(runs.bare.map((r) => r.rps));
      const p99 = mean(runs.ours.map((r) => r.p99));
      const bareP99 = mean(runs.bare.map((r) => r.p99));
      const how = `${rounds} × ${seconds} s rounds, 50 connections, ${seed.ids.length} applications; non-2xx/errors: ours ${failed}, baseline ${bareFailed}`;
      return [
        ratioResult('events.throughput', rps, bareRps, 'req/s', 0.8, how),
        maxResult('events.p99', p99, 50, 'ms', bareP99, `baseline = the bare route's p99; ${how}`),
      ];
    } finally {
      await baseline?.stop();
      await service.stop();
      await database.drop();
    }
  },
};
