import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import type { BenchResult } from './types.ts';

/** Shared plumbing of the bench modules: databases, child servers, load, results. */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The benches' concurrency (SPEC §8: 50 concurrent clients). */
export const CONNECTIONS = 50;
/** The pool size of the service and of every baseline (the service's default). */
export const POOL_SIZE = 10;

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function databaseUrlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, empty database on the bench's server; `drop` removes it. */
export async function createBenchDatabase(serverUrl: string, label: string) {
  const name = `sa_bench_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`create database "${name}"`));
  return {
    name,
    url: databaseUrlFor(serverUrl, name),
    drop: () =>
      withClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

export type Child = {
  process: ChildProcess;
  url: string;
  /** What the child printed on stdout up to its ready line. */
  output: string;
  /** Milliseconds from spawn to the ready line. */
  spawnToReadyMs: number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/**
 * Spawns `node <script>` and waits for a line matching `ready` (its first group is the URL). Output
 * after that is drained and dropped, so a chatty child never blocks on a full pipe.
 */
export async function spawnChild(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  options: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<Child> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (errors.length < 20_000) errors += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not become ready in time:\n${output}\n${errors}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = ready.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output}\n${errors}`));
    });
  });
  const spawnToReadyMs = performance.now() - started;
  child.removeAllListeners('exit');
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  return {
    process: child,
    url,
    output,
    spawnToReadyMs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** The real service, `node src/server.ts`, on `databaseUrl`. */
export async function startService(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<Child> {
  // Its own data directory (evidence uploaded while seeding), removed when it stops.
  const dataDir = mkdtempSync(join(tmpdir(), 'sa-bench-data-'));
  const child = await spawnChild(
    'src/server.ts',
    {
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      AUTH_FAILURES_PER_MINUTE: '100000',
      DATA_DIR: dataDir,
      ...env,
    },
    /running at (http:\/\/\S+)/,
    { nodeArgs },
  ).catch(async (err) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  const stop = child.stop;
  child.stop = async (signal) => {
    try {
      return await stop(signal);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  return child;
}

/** The bare Fastify baseline (bench/baseline-server.ts) on the same database and pool size. */
export function startBaseline(databaseUrl: string) {
  return spawnChild(
    'bench/baseline-server.ts',
    { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: String(POOL_SIZE) },
    /listening at (http:\/\/\S+)/,
  );
}

/**
 * The first admin token the service gives on its first start: on a terminal it is printed; through a
 * pipe (as here) it is written to a file under DATA_DIR whose path the output names. Read it before
 * the child stops (stopping removes its data directory).
 */
export function adminTokenFrom(output: string): string {
  const file = /see (\S+first-admin-token\.txt)/.exec(output)?.[1];
  const text = file ? readFileSync(file, 'utf8') : output;
  const m = /(?:^|\n)\s+(sa_[A-Za-z0-9_-]+)\s*\n/.exec(text);
  if (!m) throw new Error(`no admin token in the service's output:\n${output}`);
  return m[1];
}

export type LoadRequest = {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
};

export type LoadResult = {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** Answers per status code. */
  statuses: Record<string, number>;
  /** CPU time (user + system) the serving process spent per request, when its pid was given. */
  cpuMsPerRequest?: number;
  /** CPU time the database's server processes spent per request, when the database was given. */
  databaseCpuMsPerRequest?: number;
};

// /proc/<pid>/stat counts CPU time in clock ticks of 10 ms (USER_HZ is 100 on Linux).
const TICK_MS = 10;

/** The CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, in parentheses): utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Runs autocannon with CONNECTIONS clients for `seconds`; `next()` gives each request. */
/**
 * The CPU time each Postgres server process connected to the database has used so far, in ms (both the
 * service's and the baseline's connections: only one of them is under load at a time).
 */
export async function databaseCpuMs(databaseUrl: string): Promise<Map<number, number>> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const pids = await withClient(databaseUrl, async (c) => {
    const { rows } = await c.query(
      'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    return rows.map((r: { pid: number }) => r.pid);
  });
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      used.set(pid, cpuMsOf(pid));
    } catch {
      // The connection closed meanwhile.
    }
  }
  return used;
}

export async function load(
  baseUrl: string,
  next: () => LoadRequest,
  seconds: number,
  pid?: number,
  databaseUrl?: string,
): Promise<LoadResult> {
  const cpuBefore = pid === undefined ? 0 : cpuMsOf(pid);
  const databaseBefore = databaseUrl ? await databaseCpuMs(databaseUrl) : undefined;
  const result = await autocannon({
    url: baseUrl,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          const r = next();
          return { ...req, method: r.method, path: r.path, headers: r.headers ?? {}, body: r.body };
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(
      Object.entries(
        (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
      ).map(([status, { count }]) => [status, count]),
    ),
    ...(pid === undefined
      ? {}
      : { cpuMsPerRequest: (cpuMsOf(pid) - cpuBefore) / Math.max(1, result.requests.total) }),
    ...(databaseUrl && databaseBefore
      ? {
          databaseCpuMsPerRequest:
            [...(await databaseCpuMs(databaseUrl))].reduce(
              (sum, [backend, ms]) => sum + ms - (databaseBefore.get(backend) ?? ms),
              0,
            ) / Math.max(1, result.requests.total),
        }
      : {}),
  };
}

/**
 * Runs every contender under the same load in `rounds` rounds of `seconds`, after a warm-up of each;
 * the order rotates from round to round, so neither side always runs first (right after the other's
 * round, with its vacuum, checkpoints and caches) on a machine whose speed drifts.
 */
export async function alternatingRounds<K extends string>(
  contenders: Record<K, { url: string; next: () => LoadRequest; pid?: number }>,
  options: { rounds: number; seconds: number; warmupSeconds: number; databaseUrl?: string },
): Promise<Record<K, LoadResult[]>> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) await load(contenders[name].url, contenders[name].next, options.warmupSeconds);
  const runs = Object.fromEntries(names.map((n) => [n, [] as LoadResult[]])) as Record<K, LoadResult[]>;
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      const { url, next, pid } = contenders[name];
      runs[name].push(await load(url, next, options.seconds, pid, options.databaseUrl));
    }
  }
  return runs;
}

/** The mean CPU time per request over rounds, of the serving process and of Postgres, as text. */
export const cpuPerRequest = (runs: LoadResult[]) =>
  `${mean(runs.map((r) => r.cpuMsPerRequest ?? Number.NaN)).toFixed(2)} ms + Postgres ${mean(
    runs.map((r) => r.databaseCpuMsPerRequest ?? Number.NaN),
  ).toFixed(2)} ms`;

/** Requests that failed or were answered with another status than `expected`, over all rounds. */
export const failures = (runs: LoadResult[], expected = 200) =>
  runs.reduce(
    (n, r) =>
      n +
      r.errors +
      Object.entries(r.statuses).reduce(
        (m, [status, count]) => m + (status === String(expected) ? 0 : count),
        0,
      ),
    0,
  );

/** A round-robin over `items`. */
export function roundRobin<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length];
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A figure against a baseline, higher is better: ratio = value / baseline. */
export function ratioResult(
  name: string,
  value: number,
  baseline: number,
  unit: string,
  minRatio: number,
  notes?: string,
): BenchResult {
  const ratio = round(value / baseline, 3);
  return {
    name,
    value: round(value, 1),
    baseline: round(baseline, 1),
    ratio,
    unit,
    target: `ratio ≥ ${minRatio}`,
    pass: ratio >= minRatio,
    notes,
  };
}

/** A figure against a baseline, lower is better: ratio = value / baseline, at most `maxRatio`. */
export function maxRatioResult(
  name: string,
  value: number,
  baseline: number,
  unit: string,
  maxRatio: number,
  notes?: string,
): BenchResult {
  const ratio = round(value / baseline, 3);
  return {
    name,
    value: round(value, 1),
    baseline: round(baseline, 1),
    ratio,
    unit,
    target: `ratio ≤ ${maxRatio}`,
    pass: ratio <= maxRatio,
    notes,
  };
}

/** An absolute figure, lower is better. */
export function maxResult(
  name: string,
  value: number,
  max: number,
  unit: string,
  baseline: number | null = null,
  notes?: string,
): BenchResult {
  return {
    name,
    value: round(value, 1),
    baseline: baseline === null ? null : round(baseline, 1),
    ratio: baseline === null || baseline === 0 ? null : round(value / baseline, 3),
    unit,
    target: `≤ ${max} ${unit}`,
    pass: value <= max,
    notes,
  };
}

/** A small HTTP client for seeding through the real API. */
export function api(baseUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && !(body instanceof Uint8Array)
          ? { 'content-type': 'application/json' }
          : {}),
        ...headers,
      },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return json as any;
  };
}
