import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The project's own Node (node_modules/.bin/node: the system one may be older), for the tests that run
 * the launcher or the CLI as real processes.
 */
export const NODE = existsSync(join(process.cwd(), 'node_modules/.bin/node'))
  ? join(process.cwd(), 'node_modules/.bin/node')
  : process.execPath;

const run = promisify(execFile);

/** `node src/cli.ts …` in its own process with exactly `env`: its exit code and output, even when it fails. */
export function runCli(args: string[], env: Record<string, string>) {
  return run(NODE, ['src/cli.ts', ...args], { env, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}
