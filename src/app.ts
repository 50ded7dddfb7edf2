import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import helmet from 'helmet';
import { applicationRoutes } from './applications/routes.ts';
import { areaRoutes } from './areas/routes.ts';
import { awardRoutes } from './awards/routes.ts';
import { type Config, publicBaseUrl } from './config.ts';
import type { DatabaseHandle } from './db/index.ts';
import { scheduleOrphanSweeps, scheduleUploadExpiry } from './evidence/maintenance.ts';
import { EVIDENCE_MEDIA_TYPES } from './evidence/media-types.ts';
import { resumableRoutes } from './evidence/resumable-routes.ts';
import { evidenceRoutes } from './evidence/routes.ts';
import { createResumableIntake } from './evidence/tus.ts';
import { healthRoutes } from './health/routes.ts';
import { registerAuth } from './http/auth.ts';
import { CSV_NOTE } from './http/csv.ts';
import { registerIdempotency } from './http/idempotency.ts';
import { registerMetrics } from './http/metrics.ts';
import { completeOperations, dropUnusedSchemas, orderComponentSchemas } from './http/openapi.ts';
import { frameworkErrorHandler, registerProblemHandlers } from './http/problem.ts';
import { registerWellFormedText } from './http/well-formed.ts';
import { notificationRoutes } from './notifications/routes.ts';
import { organisationRoutes } from './organisations/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { createSignIn, type SignIn } from './signin/service.ts';
import { createEvidenceStore } from './storage/index.ts';
import { streamRoutes } from './streams/routes.ts';
import { userRoutes } from './users/routes.ts';
import { webPlugin } from './web/plugin.ts';
import { webhookRoutes } from './webhooks/routes.ts';

export type AppOptions = {
  config: Config;
  database: DatabaseHandle;
  /** pino options, or false for none (tests). */
  logger?: boolean | Record<string, unknown>;
};

export const API_VERSION = '0.1.0';

declare module 'fastify' {
  interface FastifyInstance {
    /** Sign-in links, invitations and browser sessions (src/signin): e.g. `app.signIn.sendInvitation(db, userId, by)`. */
    signIn: SignIn;
  }
}

/** Paths and headers that never reach the logs. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'res.body.token',
];

/** Query parameters that carry secrets (a sign-in link's token, a multipart form's CSRF token). */
const SECRET_QUERY = /([?&](?:token|_csrf)=)[^&#]*/gi;
export const redactUrl = (url: string) => url.replace(SECRET_QUERY, '$1[redacted]');

/** Where this server is reached, for links it sends: PUBLIC_URL, else its listening address. */
function ownOrigin(config: Config, app: FastifyInstance): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  const address = app.server.address();
  const port = address && typeof address === 'object' ? address.port : config.port;
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Builds the Fastify application; it does not listen (the launcher and tests decide). */
export async function buildApp({ config, database, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      logger === undefined
        ? { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } }
        : logger,
    // One line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy.length ? config.trustProxy : false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
    ajv: { customOptions: { coerceTypes: false } },
  }).withTypeProvider<ZodTypeProvider>();

  // The API speaks JSON: a text/plain body is an unsupported media type (415), not a string to validate.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);

  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        user: request.principal?.userId,
      },
      'request',
    );
  });

  // Security headers on every answer. helmet's middleware is built once here: @fastify/helmet built
  // it anew for every request, which cost more than a statement on the busiest routes.
  const securityHeaders = helmet({
    // The API serves JSON; the docs page needs its own scripts and styles.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      },
    },
  });
  app.addHook('onRequest', (request, reply, done) =>
    securityHeaders(request.raw, reply.raw, (err) => done(err as Error | undefined)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sanctuary Awards appraisal service',
        version: API_VERSION,
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'Applications, appraisal panels, decisions and awards for the City of Sanctuary UK Sanctuary Awards. ' +
          'Errors are RFC 9457 problem documents with a stable `code`.',
      },
      servers: [
        { url: publicBaseUrl(config), description: 'This service (PUBLIC_URL, else its listen address)' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      // Public routes need no token.
      if ((input.route.config as { public?: boolean } | undefined)?.public) {
        return { ...out, schema: { ...out.schema, security: [] } };
      }
      return out;
    },
    transformObject: (input) => {
      const doc = jsonSchemaTransformObject(input) as Parameters<typeof dropUnusedSchemas>[0] & {
        paths: Parameters<typeof completeOperations>[0];
      };
      completeOperations(doc.paths, { csvNote: CSV_NOTE, evidenceMediaTypes: EVIDENCE_MEDIA_TYPES });
      dropUnusedSchemas(doc);
      if (doc.components?.schemas) doc.components.schemas = orderComponentSchemas(doc.components.schemas);
      return doc as ReturnType<typeof jsonSchemaTransformObject>;
    },
  });
  // The docs page and its assets are public.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/'))
      route.config = { ...route.config, public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: true } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  registerAuth(app, database.db, {
    failuresPerMinute: config.authFailuresPerMinute,
    cacheTtlMs: config.authCacheTtlMs,
  });
  registerIdempotency(app, database.db);
  registerMetrics(app);
  registerWellFormedText(app);

  await app.register(healthRoutes, { database });
  await app.register(userRoutes, { db: database.db });
  await app.register(areaRoutes, { db: database.db });
  await app.register(streamRoutes, { db: database.db });
  await app.register(organisationRoutes, { db: database.db });
  const store = await createEvidenceStore(config);
  if (!config.stripLocation) {
    app.log.warn(
      { setting: 'EVIDENCE_STRIP_LOCATION=false' },
      'location data is NOT removed from uploaded photos and videos',
    );
  }
  await app.register(evidenceRoutes, { db: database.db, config, store });
  // Orphaned evidence objects (a crash between storing and committing) are swept at start and periodically.
  const stopOrphanSweeps = scheduleOrphanSweeps(
    { db: database.db, store, log: app.log },
    config.orphanSweepIntervalMs,
  );
  app.addHook('onClose', async () => stopOrphanSweeps());
  const resumable = createResumableIntake(config, app.log);
  app.decorate('resumable', resumable);
  await app.register(resumableRoutes, { db: database.db, config, store, resumable });
  // Unfinished resumable uploads past their expiry are removed on the same rhythm as the orphan sweep.
  const stopUploadExpiry = scheduleUploadExpiry(
    { removeExpired: () => resumable.removeExpired(database.db), log: app.log },
    config.orphanSweepIntervalMs,
  );
  app.addHook('onClose', async () => stopUploadExpiry());
  await app.register(applicationRoutes, { db: database.db });
  await app.register(awardRoutes, { db: database.db, config });
  await app.register(reportRoutes, { db: database.db, config });
  await app.register(notificationRoutes, { db: database.db });
  await app.register(webhookRoutes, { db: database.db, config });

  // The people's pages: their own encapsulated plugin beside the API (sessions, forms, HTML errors).
  const signIn = createSignIn({ config, baseUrl: () => ownOrigin(config, app), log: app.log });
  app.decorate('signIn', signIn);
  app.addHook('onClose', async () => signIn.close());
  await app.register(webPlugin, { db: database.db, config, signIn, store, resumable });

  return app;
}
