import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDatabaseFromTemplate, onRealPostgres } from '../helpers/database.ts';
import {
  caller,
  killServer,
  openUpload,
  type ServerProcess,
  seedDraft,
  startServer,
  waitFor,
} from './process.ts';

/** SPEC §8 drill: SIGTERM under load drains the requests in flight, then the process exits 0. */
const maybe = onRealPostgres() ? describe : describe.skip;
if (!onRealPostgres())
  console.log('[drills] SIGTERM drill skipped: it needs a real Postgres server (DATABASE_URL)');

let database: { url: string; drop: () => Promise<void> };
let dataDir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  if (!onRealPostgres()) return;
  database = await createDatabaseFromTemplate();
  dataDir = await mkdtemp(join(tmpdir(), 'sa-drill-sigterm-'));
});
afterAll(async () => {
  await killServer(server);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

/** An upload whose body is still being sent: it is in flight until `finish` sends the rest. */
function slowUpload(url: string, token: string, applicationId: string, label: string) {
  const { req, boundary } = openUpload(url, token, applicationId, label);
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(randomBytes(256 * 1024));
  return {
    answered,
    finish: () => {
      req.write(randomBytes(256 * 1024));
      req.end(`\r\n--${boundary}--\r\n`);
    },
  };
}

maybe('drill: SIGTERM under load', () => {
  it('completes the requests in flight, refuses new work, and exits 0', async () => {
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    const seed = await seedDraft(server.url, server.adminToken!);
    const api = caller(server.url, seed.leadToken);

    // Background load: reads and writes from 20 clients until the server goes away.
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 20 }, async (_, i) => {
      while (!stop) {
        try {
          const res =
            i % 2 ? await api('GET', `/applications/${seed.applicationId}`) : await api('GET', '/me');
          statuses.push(res.status);
        } catch {
          return; // connection refused or closed once the server stops listening
        }
      }
    });
    await waitFor('some load', () => statuses.length >= 50);

    // Three uploads mid-body when the signal arrives.
    const uploads = ['a', 'b', 'c'].map((l) =>
      slowUpload(server!.url, seed.applicantToken, seed.applicationId, `sigterm-${l}`),
    );
    // Mid-body: each upload has bytes in a temp file of its own.
    const tempDir = join(dataDir, 'evidence', '.tmp');
    await waitFor('temp files of the three uploads', () =>
      existsSync(tempDir) ? readdirSync(tempDir).length >= 3 : false,
    );
    server.child.kill('SIGTERM');
    await waitFor('the drain to begin', () => /draining/.test(server!.output()));
    expect(server.child.exitCode).toBeNull(); // still draining: the uploads are not finished
    for (const u of uploads) u.finish();
    const answers = await Promise.all(uploads.map((u) => u.answered));
    for (const a of answers) expect(a.status).toBe(201);

    const code = await server.exited;
    if (code !== 0) console.log(server.output().slice(-3000));
    expect(code).toBe(0);
    stop = true;
    await Promise.all(clients);
    // Under load every answer was a success or, once closing, 503; never a 500.
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(server.output()).toMatch(/draining/);
  });
});
