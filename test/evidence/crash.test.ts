import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createDraftApplication } from '../helpers/applications.ts';
import { onRealPostgres } from '../helpers/database.ts';
import { useWorld } from '../helpers/setup.ts';
import { multipart, sendPartOfUpload, text, waitFor } from './fixtures.ts';

/**
 * SPEC §8: a server killed (SIGKILL) in the middle of an upload leaves no row and, once started again,
 * no half-written file. The server is a real process on the test's database; it needs a database
 * server that two processes can share, so it is skipped on the embedded PGlite.
 */
const maybe = onRealPostgres() ? describe : describe.skip;

maybe('a server killed mid-upload', () => {
  const children: ChildProcess[] = [];
  // Declared before the app, so that it runs before the app is closed (jest runs afterAll hooks in order).
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });
  // The app's evidence directory is a fresh temporary one of its own (see startTestApp); the servers share it.
  const { t, w } = useWorld();

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
        EVIDENCE_DIR: t.config.evidenceDir,
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

  const tempFiles = async () => readdir(join(t.config.evidenceDir, '.tmp')).catch(() => [] as string[]);

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
    const req = sendPartOfUpload(first.port, w.applicantA.token, id, { body, contentType }, 1_000_000);
    await waitFor('the upload to reach a temp file', async () => (await tempFiles()).length > 0, 10_000);
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
