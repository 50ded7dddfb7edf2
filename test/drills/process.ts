import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { NODE } from '../helpers/cli.ts';
import { pdf } from '../helpers/multipart.ts';

/**
 * The fault drills run the real launcher, `node src/server.ts`, as a child process (SPEC §8), with the
 * project's own Node (NODE).
 */

export type ServerProcess = {
  child: ChildProcess;
  url: string;
  /** The first admin's token, printed on the first start against an empty database (else undefined). */
  adminToken?: string;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
};

export async function startServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(NODE, ['src/server.ts'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      AUTH_FAILURES_PER_MINUTE: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not become ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const m = /running at (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', check);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited before it was ready:\n${output}`));
    });
  });
  // Without a terminal the first admin's token is not printed: it is written to the file named.
  const tokenFile = /see (\S+first-admin-token\.txt)/.exec(output)?.[1];
  const token = tokenFile
    ? [...readFileSync(tokenFile, 'utf8').matchAll(/^\s+(sa_[A-Za-z0-9_-]+)\s*$/gm)].at(-1)?.[1]
    : undefined;
  return { child, url, adminToken: token, output: () => output, exited };
}

/** Ends a drill's server for good (no-op when it has already exited). */
export async function killServer(server: ServerProcess | undefined) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGKILL');
  await server.exited;
}

export type Call = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: any; type: string }>;

/** fetch with a bearer token and a bounded wait: a hang fails the drill instead of hanging it. */
export function caller(baseUrl: string, token?: string, timeoutMs = 10_000): Call {
  return async (method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: /json/.test(type) && text ? JSON.parse(text) : text, type };
  };
}

export function expectOk(res: { status: number; body: any }, status = 200): any {
  if (res.status !== status)
    throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** An area, a lead, a school with an applicant member and a draft application, built through the API. */
export async function seedDraft(baseUrl: string, adminToken: string) {
  const admin = caller(baseUrl, adminToken);
  const streams = expectOk(await admin('GET', '/streams'));
  const streamId = streams.items.find((s: { slug: string }) => s.slug === 'schools').id;
  const areaId = expectOk(
    await admin('POST', '/areas', { name: 'Drill Town', nation: 'england', active: true }),
    201,
  ).id;
  const lead = expectOk(
    await admin('POST', '/users', {
      email: 'lead@drill.example',
      name: 'Lead',
      grants: [{ role: 'lead', areaId }],
    }),
    201,
  );
  const leadToken = expectOk(await admin('POST', `/users/${lead.id}/tokens`, {}), 201).token as string;
  const leadApi = caller(baseUrl, leadToken);
  const orgId = expectOk(
    await leadApi('POST', '/organisations', { name: 'Drill Primary', streamId, areaId }),
    201,
  ).id;
  // Only an admin creates users with grants at once and issues someone else's token (SPEC §3, §5).
  const applicant = expectOk(
    await admin('POST', '/users', {
      email: 'applicant@drill.example',
      name: 'Applicant',
      grants: [{ role: 'applicant', organisationId: orgId }],
    }),
    201,
  );
  const applicantToken = expectOk(await admin('POST', `/users/${applicant.id}/tokens`, {}), 201)
    .token as string;
  const applicationId = expectOk(
    await caller(baseUrl, applicantToken)('POST', '/applications', { organisationId: orgId }),
    201,
  ).id as string;
  return { leadToken, applicantToken, applicationId, orgId, areaId };
}

/**
 * Starts uploading `${label}.pdf` under L1 and sends the part's headers and the PDF, but not the end of
 * the body: the drill goes on writing to `req`, and ends the body with `boundary` or never.
 */
export function openUpload(url: string, token: string, applicationId: string, label: string) {
  const boundary = `----drill${randomBytes(6).toString('hex')}`;
  const req = request(`${url}/applications/${applicationId}/evidence`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': `multipart/form-data; boundary=${boundary}`,
    },
  });
  req.write(
    `--${boundary}\r\nContent-Disposition: form-data; name="criteria"\r\n\r\nL1\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${label}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  req.write(pdf(label));
  return { req, boundary };
}

/** Waits until `check` is true, polling; throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** The Postgres server binaries (initdb, pg_ctl), newest version first, or null where none is installed. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

/** Runs a command as the `postgres` OS user when we are root (initdb refuses to run as root). */
export function runAsPostgres(command: string, args: string[]) {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return execFileSync(cmd, argv, { stdio: 'pipe', timeout: 60_000 }).toString();
}
