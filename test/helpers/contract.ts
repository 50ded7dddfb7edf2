import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * Checks every response the HTTP tests receive against the OpenAPI document the service serves
 * (SPEC §5: the document is the contract): the status is documented for the operation, the media type
 * is one documented for that status, and a JSON body validates against its schema. Violations are
 * collected and reported when the test app closes, so the document cannot drift from the service.
 */

export type ContractViolation = { request: string; status: number; problem: string };

type OpenApiDoc = {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
  >;
};

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

const escapePointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

export function attachContractCheck(app: FastifyInstance): { violations: ContractViolation[] } {
  const violations: ContractViolation[] = [];
  let doc: OpenApiDoc | undefined;
  let ajv: Ajv2020 | undefined;

  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    // Unknown paths have no operation; the docs page and the document itself are not API operations.
    if (!route || request.is404 || route === '/openapi.json' || route.startsWith('/docs')) return payload;
    // Web pages and their assets are not API operations: they are hidden from the document.
    if ((request.routeOptions.schema as { hide?: boolean } | undefined)?.hide) return payload;
    doc ??= app.swagger() as unknown as OpenApiDoc;
    if (!ajv) {
      ajv = addFormats(new Ajv2020({ strict: false, allErrors: false, validateFormats: true }));
      ajv.addSchema(doc as object, 'openapi');
    }
    const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const method = request.method.toLowerCase();
    const status = reply.statusCode;
    const where = `${request.method} ${request.url.split('?')[0]}`;
    const operation = doc.paths[path]?.[method];
    if (!operation) {
      // HEAD is answered by the GET route.
      if (method !== 'head')
        violations.push({ request: where, status, problem: `no operation ${method} ${path}` });
      return payload;
    }
    const documented = operation.responses?.[String(status)] ?? operation.responses?.default;
    if (!documented) {
      violations.push({ request: where, status, problem: `status ${status} is not documented` });
      return payload;
    }
    const mediaType = String(reply.getHeader('content-type') ?? '')
      .split(';')[0]
      .trim();
    const content = documented.content ?? {};
    if (!mediaType || status === 204 || status === 304) return payload;
    if (!(mediaType in content)) {
      violations.push({
        request: where,
        status,
        problem: `media type ${mediaType} is not documented (documented: ${Object.keys(content).join(', ') || 'none'})`,
      });
      return payload;
    }
    if (/json$/.test(mediaType) && typeof payload === 'string') {
      const ref = `openapi#/paths/${escapePointer(path)}/${method}/responses/${status in (operation.responses ?? {}) ? status : 'default'}/content/${escapePointer(mediaType)}/schema`;
      const validate = ajv.getSchema(ref);
      if (validate && !validate(JSON.parse(payload))) {
        violations.push({ request: where, status, problem: `body: ${ajv.errorsText(validate.errors)}` });
      }
    }
    return payload;
  });
  return { violations };
}
