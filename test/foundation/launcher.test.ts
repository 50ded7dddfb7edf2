import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NODE, runCli } from '../helpers/cli.ts';
import { createDatabaseFromTemplate, testDbMode } from '../helpers/database.ts';

/** The launcher and the CLI as a person runs them: real processes, real database, real output. */

const run = promisify(execFile);

let env: Record<string, string>;
let dropDatabase = async () => {};
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sanctuary-launcher-'));
  env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  if (testDbMode() === 'postgres') {
    const created = await createDatabaseFromTemplate();
    env.DATABASE_URL = created.url;
    dropDatabase = created.drop;
  }
});
afterAll(async () => {
  await dropDatabase();
  rmSync(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(args, env);

describe('the CLI', () => {
  it('migrate, then create-user prints the user and a token as JSON', async () => {
    const migrated = await cli('migrate');
    expect(migrated.code).toBe(0);
    expect(JSON.parse(migrated.stdout).migrated).toBe(true);
    // The first migrate of an empty database creates the first admin and shows their token once.
    expect(JSON.parse(migrated.stdout).firstAdmin.token).toMatch(/^sa_/);
    expect(JSON.parse((await cli('migrate')).stdout).firstAdmin).toBeUndefined();
    const created = await cli(
      'create-user',
      '--email',
      'second.admin@example.org',
      '--name',
      'Second Admin',
      '--role',
      'admin',
    );
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout);
    expect(out.user.email).toBe('second.admin@example.org');
    expect(out.user.grants).toEqual([{ role: 'admin' }]);
    expect(out.token.token).toMatch(/^sa_/);
    const again = await cli('issue-token', '--email', 'second.admin@example.org', '--expires-in-days', '7');
    expect(again.code).toBe(0);
    const issued = JSON.parse(again.stdout);
    expect(issued.token).toMatch(/^sa_/);
    expect(issued.token).not.toBe(out.token.token);
    expect(Date.parse(issued.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('refuses bad input with a message and a non-zero exit', async () => {
    const lead = await cli('create-user', '--email', 'lead@example.org', '--name', 'Lead', '--role', 'lead');
    expect(lead.code).not.toBe(0);
    expect(lead.stderr).toMatch(/areaId/);
    const unknown = await cli('fly');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command: fly/);
    const duplicate = await cli(
      'create-user',
      '--email',
      'second.admin@example.org',
      '--name',
      'Again',
      '--role',
      'admin',
    );
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toMatch(/already exists/);
  });
});

describe('the launcher', () => {
  it('stops at once on a bad setting, naming the variable', async () => {
    const res = await run(NODE, ['src/server.ts'], {
      env: { ...env, PORT: 'eighty' },
      timeout: 30_000,
    }).catch((e) => e);
    expect(res.code).toBe(78);
    expect(res.stderr).toMatch(/PORT/);
  });

  it('on first start serves, prints where it runs and where the admin token is; drains then exits 0 on SIGTERM', async () => {
    // A database of its own: the first start of an empty one creates the admin.
    const freshDir = mkdtempSync(join(tmpdir(), 'sanctuary-first-start-'));
    const fresh = testDbMode() === 'postgres' ? await createDatabaseFromTemplate() : null;
    const serverEnv = {
      ...env,
      DATA_DIR: freshDir,
      PORT: '0',
      ...(fresh ? { DATABASE_URL: fresh.url } : {}),
    };
    const server: ChildProcess = spawn(NODE, ['src/server.ts'], { env: serverEnv });
    let output = '';
    server.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout?.on('data', () => {
        const match = /running at (http:\/\/[^\s]+)/.exec(output);
        if (match) resolve(match[1]);
      });
      server.on('exit', () => reject(new Error(`server exited early: ${output}`)));
    });
    expect(output).toMatch(/API docs: http:\/\/.+\/docs/);
    // And how to sign in as that admin in a browser: no SMTP here, so the link goes to a file too.
    expect(output).toContain(`open ${url}/sign-in and enter admin@sanctuary.local`);
    expect(output).toContain(join(freshDir, 'sign-in-links.txt'));
    // Without a terminal (here, a pipe) the token stays out of the output a log collector would keep:
    // it is in a file only this user can read, named on the console.
    expect(output).not.toMatch(/sa_[A-Za-z0-9_-]{20,}/);
    const tokenFile = join(freshDir, 'first-admin-token.txt');
    expect(output).toContain(tokenFile);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = /^\s+(sa_[A-Za-z0-9_-]+)$/m.exec(readFileSync(tokenFile, 'utf8'))?.[1];
    expect(token).toBeDefined();
    const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { grants: unknown }).grants).toEqual([{ role: 'admin' }]);
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    await fresh?.drop();
    rmSync(freshDir, { recursive: true, force: true });
  });
});
