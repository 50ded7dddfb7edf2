import { z } from 'zod';
import { PROBLEM_STATUS } from './problem.ts';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(PROBLEM_STATUS) as [keyof typeof PROBLEM_STATUS]),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    blockers: z.array(z.string()).optional(),
  })
  .loose()
  .meta({ id: 'Problem', description: 'RFC 9457 problem document' });

/** Documents the problem responses a route can give. */
export function problemResponses(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]));
}

/**
 * The order of the component schemas in the document, by domain. Zod registers a named schema when
 * its module loads, so without a fixed order the document's bytes would change whenever imports are
 * reordered. Request (`…Input`) schemas come first, then responses; a schema not named here follows
 * in load order.
 */
const COMPONENT_ORDER = [
  'Problem',
  'Application',
  'ApplicationSummary',
  'HistoryEvent',
  'Review',
  'Area',
  'Evidence',
  'EvidenceList',
  'EvidenceUploadResult',
  'EvidenceUpload',
  'Award',
  'RegisterEntry',
  'RegisterVerification',
  'Grant',
  'AppraiserProfile',
  'User',
  'IssuedToken',
  'Token',
  'Pledge',
  'Organisation',
  'AreaDashboard',
  'NationalSummary',
  'Criterion',
  'CriteriaSet',
  'Stream',
  'Me',
  'Notification',
  'WebhookSubscription',
  'CreatedWebhookSubscription',
  'WebhookDelivery',
  'Invitation',
  'InvitationSent',
  'OfferedGrant',
];

export function orderComponentSchemas<T>(schemas: Record<string, T>): Record<string, T> {
  const rank = (name: string) => {
    const known = COMPONENT_ORDER.indexOf(name.replace(/Input$/, ''));
    return (name.endsWith('Input') ? 0 : 1000) + (known === -1 ? 999 : known);
  };
  return Object.fromEntries(
    Object.entries(schemas)
      .map((entry, loadOrder) => ({ entry, loadOrder }))
      .sort((a, b) => rank(a.entry[0]) - rank(b.entry[0]) || a.loadOrder - b.loadOrder)
      .map(({ entry }) => entry),
  );
}

type Operation = {
  operationId?: string;
  description?: string;
  security?: unknown[];
  parameters?: { in: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};

/** Operations whose successful answers are not JSON: their real media types (SPEC §5). */
const NON_JSON_RESPONSES: Record<
  string,
  Record<string, { types: readonly string[]; description: string }>
> = {
  getMetrics: { 200: { types: ['text/plain'], description: 'Prometheus text exposition format' } },
  getCertificate: { 200: { types: ['application/pdf'], description: 'The certificate, one page' } },
  previewEvidence: { 200: { types: ['image/webp'], description: 'The preview, at most 320 pixels a side' } },
  downloadEvidenceArchive: {
    200: {
      types: ['application/zip'],
      description: 'Every file of the application, one folder per criterion',
    },
  },
};

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

/** The answers every operation of a kind can give, whatever its own handler does. */
const COMMON_PROBLEMS: Record<string, string> = {
  400: 'The request is not valid: a malformed id, query parameter, header or body',
  401: 'No valid API token was sent',
  404: 'No such resource, or it lies outside your scope (its existence is not revealed)',
  413: 'The body is larger than this operation accepts',
  415: 'The body is not of a media type this operation accepts',
  422: 'The Idempotency-Key was already used with a different request',
  405: 'The path does not support this method (the answer names the ones it does in `Allow`)',
  429: 'Too many failed authentications from this client or with this credential; see `Retry-After`',
  503: 'The database cannot be reached; try again (see `Retry-After`)',
};

/**
 * Completes each operation so the document says what the service really answers (SPEC §5): problems
 * as `application/problem+json`; the statuses every operation of a kind can give (400 for any input,
 * 401 and 429 where a token is needed, 404 where the path names a resource, 405, 503); CSV beside JSON
 * on lists that offer it; the real media types of files, PDFs and zips; the evidence upload as the
 * multipart body it is.
 */
export function completeOperations(
  paths: Record<string, Record<string, Operation>>,
  options: { csvNote: string; evidenceMediaTypes: readonly string[] },
) {
  const binary = { type: 'string', format: 'binary' };
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const responses = operation.responses;
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400) response.content = problemContent;
      }
      const isPublic = Array.isArray(operation.security) && operation.security.length === 0;
      const takesInput = Boolean(operation.parameters?.length || operation.requestBody);
      const namesResource = path.includes('{');
      const needsDatabase = operation.operationId !== 'getLiveness' && operation.operationId !== 'getMetrics';
      const add = (status: number, when: boolean) => {
        if (when && !responses[status]) {
          responses[status] = { description: COMMON_PROBLEMS[status], content: problemContent };
        }
      };
      add(400, takesInput);
      add(401, !isPublic);
      add(404, namesResource);
      add(405, true);
      // Fastify reads the body of any POST, PUT or PATCH, whether or not the operation takes one.
      const readsBody = Boolean(operation.requestBody) || ['post', 'put', 'patch'].includes(method);
      add(413, readsBody);
      // Any POST takes an Idempotency-Key (SPEC §5).
      add(422, method === 'post');
      add(415, readsBody);
      add(429, !isPublic);
      add(503, needsDatabase);

      if (operation.description?.includes(options.csvNote) && responses[200]?.content) {
        responses[200].content['text/csv'] = {
          schema: {
            type: 'string',
            description: 'The whole filtered list, one row per item, with a header row',
          },
        };
      }
      const nonJson = {
        ...NON_JSON_RESPONSES[operation.operationId ?? ''],
        ...(operation.operationId === 'downloadEvidence'
          ? {
              200: {
                types: options.evidenceMediaTypes,
                description: 'The file, with the type detected at upload',
              },
              206: { types: options.evidenceMediaTypes, description: 'The requested byte range of the file' },
            }
          : {}),
      };
      for (const [status, { types, description }] of Object.entries(nonJson)) {
        responses[status] = {
          description,
          content: Object.fromEntries(types.map((type) => [type, { schema: binary }])),
        };
      }
      if (operation.operationId === 'uploadEvidence' && operation.requestBody) {
        operation.requestBody.content = {
          'multipart/form-data': { schema: { $ref: '#/components/schemas/EvidenceUploadInput' } },
        };
      }
    }
  }
}

/** Component schemas that no operation refers to (zod registers an input and an output form of each). */
export function dropUnusedSchemas(doc: { components?: { schemas?: Record<string, unknown> } }) {
  const schemas = doc.components?.schemas;
  if (!schemas) return;
  const text = () => JSON.stringify({ ...doc, components: { ...doc.components, schemas: {} } });
  // Schemas referenced only from other schemas are kept: follow references until nothing changes.
  let used = new Set<string>();
  for (;;) {
    const found = new Set(
      [
        ...`${text()}${JSON.stringify([...used].map((n) => schemas[n]))}`.matchAll(
          /#\/components\/schemas\/([A-Za-z0-9_.-]+)/g,
        ),
      ].map((m) => m[1]),
    );
    if (found.size === used.size) break;
    used = found;
  }
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}
