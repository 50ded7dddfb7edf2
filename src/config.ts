import { isIP } from 'node:net';
import { z } from 'zod';
import { EMAIL_ADDRESS, EMAIL_ADDRESS_MESSAGE } from './domain/email.ts';

/** Reads "true"/"1"/"yes" style flags; anything else unset is the default. */
const flag = (fallback: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['1', 'true', 'yes'].includes(v)));

/**
 * The reverse proxies whose X-Forwarded-For is believed: a comma-separated list of addresses or CIDR
 * ranges. `true` is refused: trusting every sender would let anyone choose the address that throttling
 * counts (and aim it at someone else's).
 */
const proxyList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = (v ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e && e !== 'false' && e !== '0');
    for (const entry of entries) {
      const [address, bits, ...rest] = entry.split('/');
      const family = isIP(address);
      const maxBits = family === 6 ? 128 : 32;
      const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
      if (!family || !validBits || rest.length) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not an address or CIDR range; list the proxies, e.g. 10.0.0.5,10.1.0.0/16`,
        });
      }
    }
    return entries;
  });

/** Days a submission may wait for ACCEPT or RETURN: then its reminder goes out and the dashboards show it overdue. */
export const DEFAULT_SUBMISSION_REMINDER_DAYS = 14;

const configSchema = z.object({
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
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  TRUST_PROXY: proxyList,
  MAX_FILE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(100 * 1024 * 1024),
  MAX_APPLICATION_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 * 1024 * 1024),
  MAX_FILES_PER_REQUEST: z.coerce.number().int().min(1).default(200),
  EVIDENCE_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .default(3 * 365),
  EVIDENCE_STRIP_LOCATION: flag(true),
  STORAGE: z.enum(['local', 's3']).default('local'),
  S3_ENDPOINT: z
    .url()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  S3_BUCKET: z.string().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: flag(true),
  S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'empty, or folder names each ending in /')
    .default(''),
  ZIP_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 * 1024 * 1024),
  ZIP_MAX_ENTRIES: z.coerce.number().int().min(1).default(1000),
  ZIP_MAX_UNCOMPRESSED_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 * 1024 * 1024),
  ZIP_MAX_COMPRESSION_RATIO: z.coerce.number().min(1).default(100),
  ORPHAN_SWEEP_INTERVAL_MINUTES: z.coerce.number().min(0).default(60),
  TUS_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  ALLOW_CLOCK_OVERRIDE: flag(false),
  BOOTSTRAP_ADMIN_EMAIL: z
    .string()
    .trim()
    .toLowerCase()
    .regex(EMAIL_ADDRESS, EMAIL_ADDRESS_MESSAGE)
    .default('admin@sanctuary.local'),
  // Timers, reminders, notifications and webhooks (src/jobs, src/notifications, src/webhooks).
  JOBS_WORKER: flag(true),
  JOBS_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  SMTP_HOST: z
    .string()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  SMTP_SECURE: flag(false),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  MAIL_FROM: z.string().min(3).default('Sanctuary Awards <no-reply@sanctuary.local>'),
  EMAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: flag(false),
  RETRY_BASE_SECONDS: z.coerce.number().int().min(1).default(60),
  REMINDER_REVIEW_DAYS: z.coerce.number().int().min(1).default(21),
  REMINDER_SUBMISSION_DAYS: z.coerce.number().int().min(1).default(DEFAULT_SUBMISSION_REMINDER_DAYS),
  REMINDER_EVIDENCE_DAYS: z.coerce.number().int().min(1).default(14),
  REMINDER_RENEWAL_DAYS: z.coerce.number().int().min(1).default(30),
  // Sign-in for people in a browser (src/signin, SPEC §10).
  SIGN_IN_LINK_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  INVITATION_LINK_DAYS: z.coerce.number().int().min(1).max(30).default(7),
  SIGN_IN_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(5),
  SIGN_IN_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).default(30),
  SESSION_IDLE_MINUTES: z.coerce.number().int().min(5).max(10_080).default(120),
  SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(720).default(12),
});

export type Config = {
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
  /** How long a token's principal is remembered (0: looked up on every request). */
  authCacheTtlMs: number;
  /** Proxy addresses or CIDR ranges whose X-Forwarded-For is believed; empty: none. */
  trustProxy: string[];
  limits: { maxFileBytes: number; maxApplicationBytes: number; maxFilesPerRequest: number };
  evidenceRetentionDays: number;
  /** Location data is removed from photos and videos as they are stored (SPEC §6); off only for a reason. */
  stripLocation: boolean;
  storage: StorageConfig;
  zipLimits: {
    maxZipBytes: number;
    maxEntries: number;
    maxUncompressedBytes: number;
    maxCompressionRatio: number;
  };
  /** How often committed objects no row knows are swept; 0 turns the periodic sweep off (the start sweep stays). */
  orphanSweepIntervalMs: number;
  /** How long an unfinished resumable (tus) upload is kept before it expires and is removed. */
  resumableUploadExpiryMs: number;
  allowClockOverride: boolean;
  bootstrapAdminEmail: string;
  jobs: { worker: boolean; pollIntervalMs: number; retryBaseSeconds: number };
  /** No SMTP configured: notifications stay in the outbox and GET /me/notifications, marked skipped. */
  smtp: {
    url?: string;
    host?: string;
    port: number;
    secure: boolean;
    user?: string;
    password?: string;
    from: string;
    maxAttempts: number;
  };
  /**
   * `allowPrivateTargets`: webhooks may also go to loopback, private, shared and unique-local addresses
   * (tests and closed networks only); link-local, metadata and the rest stay refused.
   */
  webhooks: { maxAttempts: number; timeoutMs: number; allowPrivateTargets: boolean };
  /** Days: reviews outstanding after START_REVIEW; submissions not accepted; before a further-evidence due date; before expiry while renewal is due. */
  reminders: { reviewDays: number; submissionDays: number; evidenceDays: number; renewalDays: number };
  /** Links valid this long; requests per hour per e-mail address and per client before links stop being sent. */
  signIn: {
    linkMinutes: number;
    invitationDays: number;
    perAddressPerHour: number;
    perClientPerHour: number;
  };
  /** A browser session ends after this long unused, and at the latest this long after signing in. */
  sessions: { idleMinutes: number; maxHours: number };
};

export type StorageConfig =
  | { kind: 'local' }
  | {
      kind: 's3';
      endpoint?: string;
      bucket: string;
      region: string;
      /** Absent: the SDK's default chain (environment, instance role). Never logged. */
      credentials?: { accessKeyId: string; secretAccessKey: string };
      forcePathStyle: boolean;
      prefix: string;
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
  if (c.STORAGE === 's3' && !c.S3_BUCKET)
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required when STORAGE=s3');
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      'Invalid configuration:\n  S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither',
    );
  }
  return {
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
    authCacheTtlMs: c.AUTH_CACHE_TTL_MS,
    trustProxy: c.TRUST_PROXY,
    limits: {
      maxFileBytes: c.MAX_FILE_BYTES,
      maxApplicationBytes: c.MAX_APPLICATION_BYTES,
      maxFilesPerRequest: c.MAX_FILES_PER_REQUEST,
    },
    evidenceRetentionDays: c.EVIDENCE_RETENTION_DAYS,
    stripLocation: c.EVIDENCE_STRIP_LOCATION,
    storage:
      c.STORAGE === 's3'
        ? {
            kind: 's3',
            endpoint: c.S3_ENDPOINT,
            bucket: c.S3_BUCKET as string,
            region: c.S3_REGION,
            ...(c.S3_ACCESS_KEY_ID && c.S3_SECRET_ACCESS_KEY
              ? { credentials: { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } }
              : {}),
            forcePathStyle: c.S3_FORCE_PATH_STYLE,
            prefix: c.S3_PREFIX,
          }
        : { kind: 'local' },
    zipLimits: {
      maxZipBytes: c.ZIP_MAX_BYTES,
      maxEntries: c.ZIP_MAX_ENTRIES,
      maxUncompressedBytes: c.ZIP_MAX_UNCOMPRESSED_BYTES,
      maxCompressionRatio: c.ZIP_MAX_COMPRESSION_RATIO,
    },
    orphanSweepIntervalMs: c.ORPHAN_SWEEP_INTERVAL_MINUTES * 60_000,
    resumableUploadExpiryMs: c.TUS_EXPIRY_HOURS * 60 * 60_000,
    allowClockOverride: c.ALLOW_CLOCK_OVERRIDE,
    bootstrapAdminEmail: c.BOOTSTRAP_ADMIN_EMAIL,
    jobs: {
      worker: c.JOBS_WORKER,
      pollIntervalMs: c.JOBS_POLL_INTERVAL_MS,
      retryBaseSeconds: c.RETRY_BASE_SECONDS,
    },
    smtp: {
      url: c.SMTP_URL,
      host: c.SMTP_HOST,
      port: c.SMTP_PORT,
      secure: c.SMTP_SECURE,
      user: c.SMTP_USER,
      password: c.SMTP_PASSWORD,
      from: c.MAIL_FROM,
      maxAttempts: c.EMAIL_MAX_ATTEMPTS,
    },
    webhooks: {
      maxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets: c.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    },
    reminders: {
      reviewDays: c.REMINDER_REVIEW_DAYS,
      submissionDays: c.REMINDER_SUBMISSION_DAYS,
      evidenceDays: c.REMINDER_EVIDENCE_DAYS,
      renewalDays: c.REMINDER_RENEWAL_DAYS,
    },
    signIn: {
      linkMinutes: c.SIGN_IN_LINK_MINUTES,
      invitationDays: c.INVITATION_LINK_DAYS,
      perAddressPerHour: c.SIGN_IN_LIMIT_PER_ADDRESS,
      perClientPerHour: c.SIGN_IN_LIMIT_PER_CLIENT,
    },
    sessions: { idleMinutes: c.SESSION_IDLE_MINUTES, maxHours: c.SESSION_MAX_HOURS },
  };
}

/**
 * The base of every link the service writes (certificates, e-mails): PUBLIC_URL, else the address it
 * listens on. Never the request's Host header, which the client chooses.
 */
export function publicBaseUrl(config: Pick<Config, 'publicUrl' | 'host' | 'port'>): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return (config.publicUrl ?? `http://${host}:${config.port}`).replace(/\/+$/, '');
}
