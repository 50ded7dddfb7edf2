import { createDatabase } from '../src/db/index.ts';
import { fanOutNotifications } from '../src/notifications/fan-out.ts';
import { pageLinks } from '../src/notifications/links.ts';
import {
  adminTokenFrom,
  alternatingRounds,
  cpuPerRequest,
  createBenchDatabase,
  databaseCpuMs,
  failures,
  maxRatioResult,
  mean,
  ratioResult,
  round,
  roundRobin,
  startBaseline,
  startService,
} from './lib.ts';
import { scheduleMeetingBody, seedMeetingApplications } from './seed.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * What the rounds left to the job worker: each event's notifications, written by one fan-out pass
 * (src/notifications/fan-out.ts) run here over every waiting event. CPU of this process and of the
 * database's server processes, per event; no target (SPEC §8 sets none), reported so the transition's
 * figures are read beside the work it hands on.
 */
async function fanOutCost(databaseUrl: string): Promise<BenchResult> {
  const handle = createDatabase({ databaseUrl, poolSize: 1 });
  try {
    await handle.ping();
    const cpuBefore = process.cpuUsage();
    const databaseBefore = await databaseCpuMs(databaseUrl);
    const started = performance.now();
    const summary = await fanOutNotifications(handle.db, pageLinks('http://bench.invalid'));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const databaseAfter = await databaseCpuMs(databaseUrl);
    let databaseMs = 0;
    for (const [pid, ms] of databaseAfter) databaseMs += ms - (databaseBefore.get(pid) ?? ms);
    const events = Math.max(summary.events, 1);
    const serviceMs = (cpu.user + cpu.system) / 1000;
    return {
      name: 'events.fanOut',
      value: round(((serviceMs + databaseMs) * 1000) / events, 1),
      baseline: null,
      ratio: null,
      unit: 'µs CPU per event',
      target: 'none (SPEC §8 sets none)',
      pass: true,
      notes: `the job worker's pass over the events the rounds left: ${summary.events} events, ${summary.notifications} notifications (one per person told, in their language) in ${round(seconds, 1)} s; CPU ${round((serviceMs * 1000) / events)} µs (worker) + ${round((databaseMs * 1000) / events)} µs (Postgres) per event`,
    };
  } finally {
    await handle.close();
  }
}

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
        await fanOutCost(database.url),
      ];
    } finally {
      await baseline?.stop();
      await service.stop();
      await database.drop();
    }
  },
};
