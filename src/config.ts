import { z } from 'zod';

/** Reads "true"/"1"/"yes" style flags; anything else unset is the default. */
const flag = (fallback: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['1', 'true', 'yes'].includes(v)));

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().min(1).default('./data'),
  EVIDENCE_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(20),
  TRUST_PROXY: flag(false),
  MAX_FILE_BYTES: z.coerce.number().int().min(1).default(100 * 1024 * 1024),
  MAX_APPLICATION_BYTES: z.coerce.number().int().min(1).default(2 * 1024 * 1024 * 1024),
  MAX_FILES_PER_REQUEST: z.coerce.number().int().min(1).default(200),
  EVIDENCE_RETENTION_DAYS: z.coerce.number().int().min(1).default(3 * 365),
  ALLOW_CLOCK_OVERRIDE: flag(false),
  BOOTSTRAP_ADMIN_EMAIL: z.email().default('admin@sanctuary.local'),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  publicUrl?: string;
  databaseUrl?: string;
  databasePoolSize: number;
  dataDir: string;
  evidenceDir: string;
  logLevel: string;
  shutdownTimeoutMs: number;
  authFailuresPerMinute: number;
  trustProxy: boolean;
  limits: { maxFileBytes: number; maxApplicationBytes: number; maxFilesPerRequest: number };
  evidenceRetentionDays: number;
  allowClockOverride: boolean;
  bootstrapAdminEmail: string;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once; a bad value stops the start with a message naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    env: c.NODE_ENV,
    host: c.HOST,
    port: c.PORT,
    publicUrl: c.PUBLIC_URL,
    databaseUrl: c.DATABASE_URL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    dataDir: c.DATA_DIR,
    evidenceDir: c.EVIDENCE_DIR ?? `${c.DATA_DIR}/evidence`,
    logLevel: c.LOG_LEVEL,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    authFailuresPerMinute: c.AUTH_FAILURES_PER_MINUTE,
    trustProxy: c.TRUST_PROXY,
    limits: {
      maxFileBytes: c.MAX_FILE_BYTES,
      maxApplicationBytes: c.MAX_APPLICATION_BYTES,
      maxFilesPerRequest: c.MAX_FILES_PER_REQUEST,
    },
    evidenceRetentionDays: c.EVIDENCE_RETENTION_DAYS,
    allowClockOverride: c.ALLOW_CLOCK_OVERRIDE,
    bootstrapAdminEmail: c.BOOTSTRAP_ADMIN_EMAIL,
  };
}
