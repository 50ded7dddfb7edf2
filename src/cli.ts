import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureFirstAdmin, prepareDatabase } from './bootstrap.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDatabase, type Db, embeddedDatabaseDir } from './db/index.ts';
import { DomainError } from './domain/errors.ts';
import * as users from './users/repository.ts';
import { createUserBody } from './users/schemas.ts';
import { issueToken, toUserView } from './users/service.ts';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  migrate                                   bring the database to the current schema and seed the streams
  create-user --email E --name N --role R   create a user; prints {user, token} as JSON
              [--area ID] [--organisation ID] [--lived-experience] [--local-group] [--cos-staff]
              [--expires-in-days N]         (R: admin, lead (needs --area), appraiser, applicant (needs --organisation))
  issue-token (--email E | --user-id ID) [--expires-in-days N]
                                            issue another token for a user; prints {id, token, expiresAt}
  seed-demo [--organisations N] [--applications M] [--seed S]
                                            add a realistic demo network (areas, leads, appraisers, organisations,
                                            applications and awards replayed through the workflow machines);
                                            defaults 200 / 2000; SPEC scale: --organisations 10000 --applications 100000
  retention [--dry-run] [--now ISO]         remove evidence files of applications closed longer than
                                            EVIDENCE_RETENTION_DAYS ago (metadata and history stay); prints
                                            what was (or, with --dry-run, would be) removed as JSON
                                            (--now only with ALLOW_CLOCK_OVERRIDE=1)
  openapi                                   print the OpenAPI document the service serves (for linting, clients)
  tick [--now ISO]                          run once what is due: timers, reminders, e-mail and webhook
                                            delivery; prints a JSON summary (--now only with ALLOW_CLOCK_OVERRIDE=1)

The database is DATABASE_URL when set, else the embedded one under DATA_DIR (./data).`;

/**
 * The OpenAPI document exactly as the service serves it at /openapi.json, from an app on a throwaway
 * in-memory database and a throwaway evidence folder (never the configured ones: the app sweeps its
 * evidence folder at start).
 */
async function servedOpenApiDocument(): Promise<unknown> {
  const scratch = await mkdtemp(join(tmpdir(), 'sanctuary-openapi-'));
  const database = createDatabase({ pgliteDir: 'memory://' });
  try {
    await prepareDatabase(database.db);
    const { buildApp } = await import('./app.ts');
    const config = loadConfig({ ...process.env, DATABASE_URL: '', STORAGE: 'local', EVIDENCE_DIR: scratch });
    const app = await buildApp({ config, database, logger: false });
    await app.ready();
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await database.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function createUserCommand(db: Db, values: Record<string, string | boolean | undefined>) {
  const role = values.role as string | undefined;
  const grant =
    role === 'lead'
      ? { role, areaId: values.area }
      : role === 'applicant'
        ? { role, organisationId: values.organisation }
        : { role };
  const parsed = createUserBody.safeParse({
    email: values.email,
    name: values.name,
    grants: role ? [grant] : [],
    ...(role === 'appraiser'
      ? {
          appraiserProfile: {
            livedExperience: Boolean(values['lived-experience']),
            localGroup: Boolean(values['local-group']),
            cosStaff: Boolean(values['cos-staff']),
            homeAreaId: values.area ?? null,
          },
        }
      : {}),
  });
  if (!parsed.success) {
    throw new DomainError(
      'validation-failed',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '),
    );
  }
  const input = parsed.data;
  // The CLI is run by whoever holds the server: it acts as the national admin would.
  const { createUser } = await import('./users/service.ts');
  const system = {
    userId: '00000000-0000-0000-0000-000000000000',
    email: 'cli',
    name: 'cli',
    tokenId: '',
    grants: [],
    isAdmin: true,
    isAppraiser: false,
    leadAreaIds: [],
    memberOrganisationIds: [],
  };
  const user = await createUser(db, system, input);
  const token = await issueToken(db, null, user.id, numberOption(values['expires-in-days']));
  return { user, token };
}

function numberOption(v: string | boolean | undefined): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new DomainError('validation-failed', `--expires-in-days must be a whole number of days, not ${v}`);
  return n;
}

async function issueTokenCommand(db: Db, values: Record<string, string | boolean | undefined>) {
  const id =
    typeof values['user-id'] === 'string'
      ? values['user-id']
      : typeof values.email === 'string'
        ? await users.findUserIdByEmail(db, values.email)
        : undefined;
  if (!id)
    throw new DomainError('validation-failed', 'issue-token needs --email or --user-id of an existing user');
  const user = await users.findUser(db, id).catch(() => undefined);
  if (!user) throw new DomainError('not-found', 'No such user');
  return {
    user: toUserView(user, null),
    ...(await issueToken(db, null, user.id, numberOption(values['expires-in-days']))),
  };
}

async function retentionCommand(
  config: Config,
  db: Db,
  values: Record<string, string | boolean | undefined>,
) {
  let now: Date | undefined;
  if (typeof values.now === 'string') {
    if (!config.allowClockOverride)
      throw new DomainError('forbidden', '--now is refused unless ALLOW_CLOCK_OVERRIDE=1');
    now = new Date(values.now);
    if (Number.isNaN(now.getTime()))
      throw new DomainError('validation-failed', `--now must be an ISO 8601 instant, not ${values.now}`);
  }
  const { runEvidenceRetention } = await import('./evidence/maintenance.ts');
  const { createEvidenceStore } = await import('./storage/index.ts');
  const store = await createEvidenceStore(config);
  return runEvidenceRetention(
    { db, store },
    { retentionDays: config.evidenceRetentionDays, now, dryRun: Boolean(values['dry-run']) },
  );
}

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      area: { type: 'string' },
      organisation: { type: 'string' },
      'user-id': { type: 'string' },
      'expires-in-days': { type: 'string' },
      'lived-experience': { type: 'boolean' },
      'local-group': { type: 'boolean' },
      'cos-staff': { type: 'boolean' },
      organisations: { type: 'string' },
      applications: { type: 'string' },
      seed: { type: 'string' },
      'dry-run': { type: 'boolean' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (!command || values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'openapi') {
    console.log(JSON.stringify(await servedOpenApiDocument(), null, 2));
    return 0;
  }
  const config = loadConfig();
  const database = createDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: embeddedDatabaseDir(config.dataDir),
    poolSize: 2,
  });
  try {
    await prepareDatabase(database.db);
    switch (command) {
      case 'migrate': {
        const admin = await ensureFirstAdmin(database.db, config.bootstrapAdminEmail);
        console.log(
          JSON.stringify({
            migrated: true,
            database: database.kind,
            ...(admin ? { firstAdmin: admin } : {}),
          }),
        );
        return 0;
      }
      case 'create-user':
        console.log(JSON.stringify(await createUserCommand(database.db, values), null, 2));
        return 0;
      case 'issue-token':
        console.log(JSON.stringify(await issueTokenCommand(database.db, values), null, 2));
        return 0;
      case 'tick': {
        let now = new Date();
        if (typeof values.now === 'string') {
          // Driving time by hand is for tests and drills only.
          if (!config.allowClockOverride)
            throw new DomainError('forbidden', 'tick --now is refused unless ALLOW_CLOCK_OVERRIDE=1');
          now = new Date(values.now);
          if (Number.isNaN(now.getTime()))
            throw new DomainError(
              'validation-failed',
              `--now must be an ISO 8601 instant, not ${values.now}`,
            );
        }
        const { runJobsOnce } = await import('./jobs/worker.ts');
        console.log(JSON.stringify(await runJobsOnce(database.db, config, now), null, 2));
        return 0;
      }
      case 'retention':
        console.log(JSON.stringify(await retentionCommand(config, database.db, values), null, 2));
        return 0;
      case 'seed-demo': {
        const { seedDemo } = await import('./reports/seed-demo.ts');
        const count = (v: string | undefined, fallback: number, name: string) => {
          const n = v === undefined ? fallback : Number(v);
          if (!Number.isInteger(n) || n < 0)
            throw new DomainError('validation-failed', `--${name} must be a whole number, not ${v}`);
          return n;
        };
        const stats = await seedDemo(database.db, {
          organisations: count(values.organisations, 200, 'organisations'),
          applications: count(values.applications, 2000, 'applications'),
          seed: values.seed === undefined ? undefined : count(values.seed, 0, 'seed'),
          log: (line) => console.error(line),
        });
        console.log(JSON.stringify(stats, null, 2));
        return 0;
      }
      default:
        console.error(`Unknown command: ${command}\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await database.close();
  }
}

/** Exits once stdout is flushed: into a pipe it is written asynchronously, and exit would cut it. */
const exitAfterOutput = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (err) => {
    if (err instanceof ConfigError || err instanceof DomainError) console.error(err.message);
    else if (err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') console.error(`${err.message}\n\n${USAGE}`);
    else console.error(err);
    process.exit(1);
  },
);
