import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDatabaseFromTemplate, onRealPostgres } from '../helpers/database.ts';
import { multipart, pdf } from '../helpers/multipart.ts';
import {
  caller,
  expectOk,
  killServer,
  listDir,
  openUpload,
  type ServerProcess,
  seedDraft,
  startServer,
  waitFor,
} from './process.ts';

/**
 * SPEC §8 drill: the server is killed (SIGKILL) in the middle of uploads. After a restart no evidence
 * row points at a missing or partial file, and the half-written temp files are gone.
 */
const maybe = onRealPostgres() ? describe : describe.skip;
if (!onRealPostgres())
  console.log('[drills] SIGKILL drill skipped: it needs a real Postgres server (DATABASE_URL)');

let database: { url: string; drop: () => Promise<void> };
let evidenceDir: string;
let server: ServerProcess | undefined;

beforeAll(async () => {
  if (!onRealPostgres()) return;
  database = await createDatabaseFromTemplate();
  evidenceDir = await mkdtemp(join(tmpdir(), 'sa-drill-evidence-'));
});
afterAll(async () => {
  await killServer(server);
  if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
  await database?.drop();
});

/** Starts an upload whose body trickles in until the connection dies; resolves once bytes are flowing. */
function trickleUpload(url: string, token: string, applicationId: string, label: string) {
  const { req } = openUpload(url, token, applicationId, label);
  const outcome = new Promise<string>((resolve) => {
    req.on('response', (res) => resolve(`answered ${res.statusCode}`));
    req.on('error', (err) => resolve(`failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
  const timer = setInterval(() => {
    if (req.destroyed) clearInterval(timer);
    else req.write(randomBytes(64 * 1024));
  }, 10);
  req.on('close', () => clearInterval(timer));
  const stop = () => {
    clearInterval(timer);
    req.destroy();
  };
  return { outcome, stop };
}

maybe('drill: SIGKILL in the middle of uploads, then restart', () => {
  it('leaves no evidence row without its whole file, and the next start removes the half-written files', async () => {
    const env = { DATABASE_URL: database.url, EVIDENCE_DIR: evidenceDir, DATA_DIR: evidenceDir };
    server = await startServer(env);
    expect(server.adminToken).toBeDefined();
    const seed = await seedDraft(server.url, server.adminToken!);

    // Some uploads complete before the kill: their rows and files must survive it.
    for (const label of ['before-1', 'before-2', 'before-3']) {
      const { body, contentType } = multipart({ criteria: 'L1,L2' }, [
        { filename: `${label}.pdf`, content: pdf(label), contentType: 'application/pdf' },
      ]);
      const res = await fetch(`${server.url}/applications/${seed.applicationId}/evidence`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seed.applicantToken}`, 'content-type': contentType },
        body: new Uint8Array(body),
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(201);
    }

    // Uploads in flight, with bytes already on disk in temp files, when the process is killed.
    const uploads = ['during-1', 'during-2', 'during-3', 'during-4'].map((label) =>
      trickleUpload(server!.url, seed.applicantToken, seed.applicationId, label),
    );
    const tempDir = join(evidenceDir, '.tmp');
    await waitFor('temp files of the uploads in flight', () => listDir(tempDir).length >= 2);
    const killed = server;
    killed.child.kill('SIGKILL');
    expect(await killed.exited).toBe('SIGKILL');
    for (const u of uploads) u.stop();
    const outcomes = await Promise.all(uploads.map((u) => u.outcome));
    expect(outcomes.every((o) => !o.startsWith('answered 2'))).toBe(true);
    expect(listDir(tempDir).length).toBeGreaterThanOrEqual(2); // the debris the restart must clear

    // Restart on the same database and directory.
    server = await startServer(env);
    expect(listDir(tempDir)).toEqual([]);
    expect(expectOk(await caller(server.url)('GET', '/health/ready')).status).toBe('ready');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{
        storage_key: string;
        size: number;
        sha256: string;
        filename: string;
      }>(
        'select storage_key, size::int as size, sha256, filename from evidence where file_removed_at is null',
      );
      expect(rows.map((r) => r.filename).sort()).toEqual(['before-1.pdf', 'before-2.pdf', 'before-3.pdf']);
      for (const row of rows) {
        const key = row.storage_key;
        const bytes = readFileSync(join(evidenceDir, key.slice(0, 2), key.slice(2, 4), key));
        expect(bytes.length).toBe(row.size);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(row.sha256);
      }
    } finally {
      await client.end();
    }
    const listed = expectOk(
      await caller(server.url, seed.applicantToken)('GET', `/applications/${seed.applicationId}/evidence`),
    );
    expect(listed.items).toHaveLength(3);
  });
});
