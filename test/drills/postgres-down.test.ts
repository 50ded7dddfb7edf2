import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  caller,
  killServer,
  postgresBinDir,
  runAsPostgres,
  type ServerProcess,
  startServer,
  waitFor,
} from './process.ts';

/**
 * SPEC §8 drill: Postgres goes away under load. Readiness turns 503, requests answer 503 `unavailable`
 * (not a hang, not a crash), and the service recovers by itself when Postgres is back. It runs a
 * throwaway Postgres cluster of its own (initdb/pg_ctl on a free port), never the machine's server.
 */
const binDir = postgresBinDir();
function postgresUserExists() {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const runnable = binDir !== null && (process.getuid?.() !== 0 || postgresUserExists());
const maybe = runnable ? describe : describe.skip;
if (!runnable)
  console.log(
    '[drills] Postgres-down drill skipped: no initdb/pg_ctl under /usr/lib/postgresql/*/bin (or no postgres user)',
  );

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let root: string;
let dataDir: string;
let port: number;
let server: ServerProcess | undefined;
const pgCtl = (...args: string[]) =>
  runAsPostgres(join(binDir as string, 'pg_ctl'), ['-D', join(root, 'pgdata'), ...args]);
const startPostgres = () =>
  pgCtl(
    '-w',
    '-t',
    '30',
    '-l',
    join(root, 'postgres.log'),
    '-o',
    `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  );
const stopPostgres = () => pgCtl('-w', '-t', '30', '-m', 'fast', 'stop');

beforeAll(async () => {
  if (!runnable) return;
  root = mkdtempSync(join(tmpdir(), 'sa-drill-pg-'));
  dataDir = join(root, 'app');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(root, uid, gid);
  }
  runAsPostgres(join(binDir as string, 'initdb'), [
    '-D',
    join(root, 'pgdata'),
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  port = await freePort();
  startPostgres();
}, 90_000);

afterAll(async () => {
  await killServer(server);
  if (!runnable || !root) return;
  try {
    pgCtl('-m', 'immediate', 'stop');
  } catch {
    // already stopped
  }
  await rm(root, { recursive: true, force: true });
}, 60_000);

maybe('drill: Postgres goes away under load, then comes back', () => {
  it('answers 503 unavailable quickly, stays up, and recovers by itself', async () => {
    server = await startServer({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      DATA_DIR: dataDir,
    });
    const admin = caller(server.url, server.adminToken, 8_000);
    const anyone = caller(server.url, undefined, 8_000);
    expect((await anyone('GET', '/health/ready')).status).toBe(200);

    // Load from 10 clients throughout; every answer must be 2xx or 503, never another 5xx, never a hang.
    let stop = false;
    const seen: number[] = [];
    const failures: string[] = [];
    const clients = Array.from({ length: 10 }, async (_, i) => {
      while (!stop) {
        try {
          const res =
            i % 3 === 0
              ? await admin('POST', '/areas', {
                  name: `Area ${i}-${seen.length}-${Math.random()}`,
                  nation: 'wales',
                  active: true,
                })
              : await admin('GET', '/me');
          seen.push(res.status);
          if (res.status === 503) await new Promise((r) => setTimeout(r, 50));
        } catch (err) {
          failures.push((err as Error).message);
          return;
        }
      }
    });
    await waitFor('load before the outage', () => seen.length >= 30);

    stopPostgres();
    await waitFor('503 answers during the outage', () => seen.filter((s) => s === 503).length >= 10, 30_000);
    const ready = await anyone('GET', '/health/ready');
    expect(ready.status).toBe(503);
    const me = await admin('GET', '/me');
    expect(me.status).toBe(503);
    expect(me.type).toContain('application/problem+json');
    expect(me.body.code).toBe('unavailable');
    const write = await admin('POST', '/areas', {
      name: 'During the outage',
      nation: 'england',
      active: true,
    });
    expect(write.status).toBe(503);
    expect(write.body.code).toBe('unavailable');
    expect(server.child.exitCode).toBeNull();

    startPostgres();
    await waitFor(
      'readiness after Postgres returns',
      async () => (await anyone('GET', '/health/ready')).status === 200,
      30_000,
    );
    expect((await admin('GET', '/me')).status).toBe(200);
    expect(
      (await admin('POST', '/areas', { name: 'After the outage', nation: 'england', active: true })).status,
    ).toBe(201);

    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(seen.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    expect(server.child.exitCode).toBeNull();
  }, 120_000);
});
