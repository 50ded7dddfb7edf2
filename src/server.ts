import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from './config.ts';
import { secretForPerson } from './console.ts';
import { createDatabase, embeddedDatabaseDir } from './db/index.ts';

/** The launcher: configuration, database, listen, graceful shutdown. Everything else is in app.ts. */
async function main() {
  const startedAt = performance.now();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  let app: FastifyInstance | undefined;
  const database = createDatabase({
    databaseUrl: config.databaseUrl,
    poolSize: config.databasePoolSize,
    pgliteDir: embeddedDatabaseDir(config.dataDir),
    onPoolError: (err) => app?.log.warn({ err: { message: err.message } }, 'idle database client error'),
  });
  // The rest of the service is loaded while the database starts (the embedded one compiles and
  // initialises in the background): the first start stays within SPEC §8's 5 s.
  const [{ buildApp }, { ensureFirstAdmin, prepareDatabase }, { startJobWorker }] = await Promise.all([
    import('./app.ts'),
    import('./bootstrap.ts'),
    import('./jobs/worker.ts'),
  ]);
  await prepareDatabase(database.db);
  const firstAdmin = await ensureFirstAdmin(database.db, config.bootstrapAdminEmail);

  app = await buildApp({ config, database });
  // Timers, reminders and the outbox run in the background here (off in tests unless a test starts it).
  const jobs = config.jobs.worker ? startJobWorker(database.db, config, app.log) : null;
  app.addHook('onClose', async () => {
    await jobs?.stop();
    await database.close();
  });

  const address = await app.listen({ host: config.host, port: config.port });
  // Without PUBLIC_URL, links name the address actually bound (PORT=0 picks one at listen time).
  config.publicUrl ??= address;
  const url = config.publicUrl;
  const readyMs = Math.round(performance.now() - startedAt);
  app.log.info({ url, database: database.kind, readyMs }, 'ready');

  // Printed for the person starting it, not as log lines: where to go and how to get in.
  const lines = [
    '',
    `Sanctuary Awards is running at ${url} (${database.kind === 'pglite' ? `embedded database in ${config.dataDir}` : 'Postgres'}, ready in ${readyMs} ms)`,
    `In a browser: ${url}/   API docs: ${url}/docs   OpenAPI: ${url}/openapi.json`,
  ];
  if (firstAdmin) {
    lines.push(
      `First start: created the admin ${firstAdmin.email}. Their API token (shown only now, keep it safe):`,
      ...secretForPerson(config.dataDir, 'first-admin-token.txt', [
        `  ${firstAdmin.token}`,
        `Try: curl -H "Authorization: Bearer ${firstAdmin.token}" ${url}/me`,
      ]),
      `To sign in as the admin in a browser: open ${url}/sign-in and enter ${firstAdmin.email}.`,
      app.signIn.emailConfigured
        ? '  The sign-in link is e-mailed to that address.'
        : `  No SMTP is configured, so the sign-in link is ${process.stdout.isTTY ? 'printed here' : `written to ${join(config.dataDir, 'sign-in-links.txt')}`}.`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) app?.log.error({ err }, 'shutting down after an error');
    else app?.log.info({ signal }, 'shutting down: draining requests');
    // A keep-alive connection busy when closing began turns idle once its request is answered; Node
    // closes idle connections only at close() time, so sweep them until the drain ends, or one
    // keep-alive client holds the shutdown until the grace delay runs out (exit 1). See test/drills.
    const sweep = setInterval(() => app?.server.closeIdleConnections(), 100);
    try {
      await app?.close();
    } finally {
      clearInterval(sweep);
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
