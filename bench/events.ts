import {
  adminTokenFrom,
  alternatingRounds,
  cpuPerRequest,
  createBenchDatabase,
  failures,
  maxRatioResult,
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
 * Fastify route doing the essential work by hand (lock the row, update it, insert the history row,
 * answer the updated row as JSON; bench/baseline-server.ts); and its p99 latency as a ratio to that
 * route's. The event is SCHEDULE_MEETING, which the `meeting` state accepts again and again, spread
 * over many applications; it tells the organisation's members (a notification each) and writes
 * webhook deliveries when subscriptions match (none here). Service and baseline share the database
 * and the pool size and run in alternating rounds.
 */
export const eventsBench: BenchModule = {
  title: 'Workflow events (POST /applications/{id}/events)',
  async run({ quick, databaseUrl, ...options }: BenchOptions): Promise<BenchResult[]> {
    const database = await createBenchDatabase(databaseUrl, 'events');
    const service = await startService(
      database.url,
      // The request path alone: no background delivery of the notifications the events write.
      { JOBS_WORKER: '0' },
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
      const request = (prefix: string) => () => ({
        method: 'POST' as const,
        path: `${prefix}/applications/${ids()}/events`,
        headers,
        body: scheduleMeetingBody(),
      });
      const seconds = options.seconds ?? (quick ? 3 : 10);
      const rounds = options.rounds ?? (quick ? 2 : 3);
      const runs = await alternatingRounds(
        {
          bare: { url: baseline.url, next: request('/bare'), pid: baseline.process.pid },
          ours: { url: service.url, next: request(''), pid: service.process.pid },
        },
        { rounds, seconds, warmupSeconds: quick ? 1 : 3, databaseUrl: database.url },
      );
      const rps = mean(runs.ours.map((r) => r.rps));
      const bareRps = mean(runs.bare.map((r) => r.rps));
      const p99 = mean(runs.ours.map((r) => r.p99));
      const bareP99 = mean(runs.bare.map((r) => r.p99));
      const how = `${rounds} × ${seconds} s rounds each, alternating, 50 connections, pool of 10, ${seed.ids.length} applications; p50 ours ${Math.round(mean(runs.ours.map((r) => r.p50)))} ms, baseline ${Math.round(mean(runs.bare.map((r) => r.p50)))} ms; CPU per request (the serving process + Postgres's backends) ours ${cpuPerRequest(runs.ours)}, baseline ${cpuPerRequest(runs.bare)}; requests not answered 200: ours ${failures(runs.ours)}, baseline ${failures(runs.bare)}`;
      return [
        ratioResult('events.throughput', rps, bareRps, 'req/s', 0.8, how),
        maxRatioResult('events.p99', p99, bareP99, 'ms', 1.5, `p99 against the bare route's p99; ${how}`),
      ];
    } finally {
      await baseline?.stop();
      await service.stop();
      await database.drop();
    }
  },
};
