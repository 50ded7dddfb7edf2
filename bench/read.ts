import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminTokenFrom,
  createBenchDatabase,
  type LoadResult,
  load,
  maxResult,
  mean,
  ratioResult,
  roundRobin,
  spawnChild,
  startBaseline,
  startService,
} from './lib.ts';
import { seedMeetingApplications } from './seed.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: GET /applications/{id} (the full view: criteria, answers, evidence counts, panel,
 * allowedEvents and blockers for the caller) against a bare Fastify route running `SELECT 1` through
 * a pool of the same size; and start-up: spawn to the ready line, on Postgres and on the embedded
 * default's first start, against the bare Fastify app's own spawn-to-listening time.
 */
export const readBench: BenchModule = {
  title: 'Reading an application (GET /applications/{id}) and start-up',
  async run({ quick, databaseUrl }: BenchOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const database = await createBenchDatabase(databaseUrl, 'read');
    try {
      // Start-up, first on a fresh database (migrations and seeding included), then again once migrated.
      const first = await startService(database.url);
      const adminToken = adminTokenFrom(first.output);
      await first.stop();
      const starts: number[] = [];
      const bareStarts: number[] = [];
      for (let i = 0; i < (quick ? 1 : 3); i++) {
        const s = await startService(database.url);
        starts.push(s.spawnToReadyMs);
        await s.stop();
        const b = await startBaseline(database.url);
        bareStarts.push(b.spawnToReadyMs);
        await b.stop();
      }
      results.push(
        maxResult(
          'startup.postgres',
          Math.max(...starts),
          2000,
          'ms',
          Math.max(...bareStarts),
          `spawn of node src/server.ts to its ready line on a migrated database (worst of ${starts.length}); first start on an empty database (migrations, streams, admin): ${Math.round(first.spawnToReadyMs)} ms; baseline: the bare Fastify app's spawn to listening`,
        ),
      );
      const dataDir = await mkdtemp(join(tmpdir(), 'sa-bench-embedded-'));
      try {
        const embedded = await spawnChild(
          'src/server.ts',
          { DATABASE_URL: '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
          /running at (http:\/\/\S+)/,
        );
        await embedded.stop();
        results.push(
          maxResult(
            'startup.embedded-first',
            embedded.spawnToReadyMs,
            5000,
            'ms',
            Math.max(...bareStarts),
            'spawn of node src/server.ts with no DATABASE_URL and an empty DATA_DIR (PGlite initdb, migrations, seeding) to its ready line',
          ),
        );
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }

      // The read.
      const service = await startService(
        database.url,
        {},
        process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [],
      );
      const baseline = await startBaseline(database.url);
      try {
        const seed = await seedMeetingApplications(service.url, adminToken, database.url, 50);
        const headers = { authorization: `Bearer ${seed.leadToken}` };
        const ids = roundRobin(seed.ids);
        const ours = () => ({ method: 'GET' as const, path: `/applications/${ids()}`, headers });
        const bare = () => ({ method: 'GET' as const, path: '/select1', headers });
        const seconds = quick ? 3 : 10;
        const rounds = quick ? 1 : 3;
        await load(service.url, ours, quick ? 1 : 3);
        await load(baseline.url, bare, quick ? 1 : 3);
        const runs: { ours: LoadResult[]; bare: LoadResult[] } = { ours: [], bare: [] };
        for (let i = 0; i < rounds; i++) {
          runs.bare.push(await load(baseline.url, bare, seconds));
          runs.ours.push(await load(service.url, ours, seconds));
        }
        const failed = runs.ours.reduce((n, r) => n + r.errors + r.non2xx, 0);
        results.push(
          ratioResult(
            'read.application',
            mean(runs.ours.map((r) => r.rps)),
            mean(runs.bare.map((r) => r.rps)),
            'req/s',
            0.6,
            `${rounds} × ${seconds} s rounds, 50 connections, as the area's lead, over ${seed.ids.length} applications in \`meeting\`; p99 ours ${Math.round(mean(runs.ours.map((r) => r.p99)))} ms, baseline ${Math.round(mean(runs.bare.map((r) => r.p99)))} ms; non-2xx/errors: ${failed}`,
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
