import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase, maxResult, spawnChild, startBaseline, startService } from './lib.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: start-up, from spawn to the ready line: on Postgres (first on an empty database, with its
 * migrations and seeding, then again once migrated) and the embedded default's first start, against
 * the bare Fastify app's own spawn to listening.
 */
export const startupBench: BenchModule = {
  title: 'Start-up',
  async run({ quick, databaseUrl }: BenchOptions): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    const database = await createBenchDatabase(databaseUrl, 'startup');
    try {
      // Start-up, first on a fresh database (migrations and seeding included), then again once migrated.
      const first = await startService(database.url);
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

      return results;
    } finally {
      await database.drop();
    }
  },
};
