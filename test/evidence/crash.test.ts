import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createDraftApplication } from '../helpers/applications.ts';
import { onRealPostgres } from '../helpers/database.ts';
import { createWorld, type World } from '../helpers/world.ts';
import { multipart, text } from './fixtures.ts';

/**
 * SPEC §8: a server killed (SIGKILL) in the middle of an upload leaves no row and, once started again,
 * no half-written file. The server is a real process on the test's database; it needs a database
 * server that two processes can share, so it is skipped on the embedded PGlite.
 */
const maybe = onRealPostgres() ? describe : describe.skip;

maybe('a server killed mid-upload', () => {
  let t: TestApp;
  let w: World;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sa-crash-'));
    t = await startTestApp({ EVIDENCE_DIR: dir });
    w = await createWorld(t.app, t.database.db);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `node src/server.ts` on a free port and resolves with its port once it is ready. */
  function startServer(): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(process.execPath, ['src/server.ts'], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: t.config.databaseUrl,
        EVIDENCE_DIR: dir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk) => {
        out += chunk;
        const match = /running at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match) resolve({ child, port: Number(match[1]) });
      });
      child.stderr?.on('data', (chunk) => {
        out += chunk;
      });
      child.once('exit', (code) =>
        reject(new Error(`the server exited (${code}) before it was ready:\n${out}`)),
      );
    });
  }

  const tempFiles = async () => readdir(join(dir, '.tmp')).catch(() => [] as string[]);

  it('leaves no row, and the restarted server removes the half-written file', async () => {
    const { id } = await createDraftApplication(t.database.db, {
      organisationId: w.orgA,
      streamId: w.schoolsStreamId,
      createdBy: w.applicantA.id,
    });
    const first = await startServer();
    const { body, contentType } = multipart([
      { name: 'criteria', value: 'L1' },
      { name: 'file', filename: 'long.txt', content: text(2_000_000) },
    ]);
    const req = request({
      host: '127.0.0.1',
      port: first.port,
      method: 'POST',
      path: `/applications/${id}/evidence`,
      headers: {
        authorization: `Bearer ${w.applicantA.token}`,
        'content-type': contentType,
        'content-length': body.length,
      },
    });
    req.on('error', () => {});
    req.write(body.subarray(0, 1_000_000));
    const deadline = Date.now() + 10_000;
    while ((await tempFiles()).length === 0) {
      if (Date.now() > deadline) throw new Error('the upload never reached a temp file');
      await new Promise((r) => setTimeout(r, 20));
    }
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    req.destroy();
    expect(await tempFiles()).toHaveLength(1);

    const second = await startServer();
    expect(await tempFiles()).toEqual([]);
    const rows = await t.database.db
      .selectFrom('evidence')
      .select('id')
      .where('application_id', '=', id)
      .execute();
    expect(rows).toEqual([]);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
