import { afterAll, beforeAll } from '@jest/globals';
import { startTestApp, type TestApp } from './app.ts';
import { createWorld, type World } from './world.ts';

/**
 * The setup most test files share, as one call at the top of the file or of a describe:
 *
 *   const { t, w } = useWorld({ ALLOW_CLOCK_OVERRIDE: '1' });
 *   it('…', async () => expect((await w.leadA.api.get('/me')).status).toBe(200));
 *
 * The call registers beforeAll and afterAll hooks where it stands, so the app lives as long as that
 * file or describe. Jest runs hooks in the order they are declared, afterAll ones too: a file's own
 * beforeAll declared after the call sees the app, and its own afterAll runs once the app is closed.
 */

/**
 * Settings for the app under test, or a function that gives them when the app starts, in beforeAll:
 * it may first start what a setting names (a mail server, a storage), which exists only from then on.
 */
export type TestEnv =
  | Record<string, string>
  | (() => Record<string, string> | Promise<Record<string, string>>);

/**
 * Stands for a value that a beforeAll hook makes (and an afterAll hook disposes of). Tests and hooks
 * read its fields once it exists; reading one earlier, while jest collects the tests, throws instead
 * of yielding undefined.
 */
function madeInBeforeAll<T extends object>(
  what: string,
  make: () => Promise<T>,
  dispose?: (value: T) => Promise<void>,
): T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await make();
  });
  // Nothing to dispose of when making it failed: that failure is the one to report.
  if (dispose)
    afterAll(async () => {
      if (value !== undefined) await dispose(value);
    });
  const made = (): T => {
    if (value === undefined) throw new Error(`${what} is made in beforeAll: read it inside a test or a hook`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(made(), key),
    has: (_target, key) => Reflect.has(made(), key),
  });
}

/** A fresh database and an app on it (see startTestApp), started before the tests and closed after them. */
export function useTestApp(env: TestEnv = {}): TestApp {
  return madeInBeforeAll(
    'the test app',
    async () => startTestApp(typeof env === 'function' ? await env() : env),
    (t) => t.close(),
  );
}

/** A test app (`t`) with the small network of createWorld built on it (`w`). */
export function useWorld(env: TestEnv = {}): { t: TestApp; w: World } {
  const t = useTestApp(env);
  const w = madeInBeforeAll('the test world', () => createWorld(t.app, t.database.db));
  return { t, w };
}
