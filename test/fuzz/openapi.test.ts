import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { startTestApp } from '../helpers/app.ts';
import { ok, uploadEvidence } from '../helpers/applications.ts';
import { createWorld } from '../helpers/world.ts';

/**
 * SPEC §8: random and malformed bodies, parameters and headers sent at every operation of the OpenAPI
 * document produce no 5xx, and every 4xx is an RFC 9457 problem document with a stable code. Requests
 * are generated from the document itself (so a new route is fuzzed without touching this file): valid
 * bodies built from its schemas, boundary values, and malformed ones.
 */

type Schema = Record<string, any>;
type Operation = { method: string; path: string; op: Schema };

const t = await startTestApp();
const w = await createWorld(t.app, t.database.db);
afterAll(() => t.close());

const applicationId = ok(await w.applicantA.api.post('/applications', { organisationId: w.orgA }), 201)
  .id as string;
const evidenceId = ok(await uploadEvidence(t.app, w.applicantA, applicationId, ['L1'], 'fuzz'), 201).items[0]
  .id as string;
/** Real ids, so that generated requests get past "not found" into validation and the handlers. */
const realIds = [
  applicationId,
  evidenceId,
  w.orgA,
  w.orgB,
  w.areaA,
  w.areaB,
  w.schoolsStreamId,
  w.leadA.id,
  w.applicantA.id,
  w.appraiserA.id,
];
const tokens = [w.admin.token, w.leadA.token, w.applicantA.token, w.appraiserA.token];

const doc = JSON.parse((await t.app.inject({ method: 'GET', url: '/openapi.json' })).body);
const operations: Operation[] = Object.entries(doc.paths as Record<string, Record<string, Schema>>).flatMap(
  ([path, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
);

function deref(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const name = String(s.$ref.split('/').pop());
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

const garbage = fc.oneof(
  fc.constant(''),
  fc.constant('\u0000'),
  fc.constant('x'.repeat(5000)),
  fc.constant('-1'),
  fc.constant('1e309'),
  fc.constant('null'),
  fc.constant('../../etc/passwd'),
  fc.constant('%00'),
  fc.constant('😀'),
  fc.string({ maxLength: 40 }),
);

/** Values valid for a JSON schema (mostly), at its boundaries where it has some. */
function fromSchema(input: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(input);
  if (depth > 5) return fc.constant(null);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives) && alternatives.length)
    return fc.oneof(...alternatives.map((a: Schema) => fromSchema(a, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length)
    return fromSchema({ ...Object.assign({}, ...s.allOf.map(deref)) }, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = Object.fromEntries(
        Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([k, v]) => [
          k,
          fromSchema(v, depth + 1),
        ]),
      );
      return fc.record(props, { requiredKeys: (s.required ?? []).filter((k: string) => k in props) });
    }
    case 'array':
      return fc.array(fromSchema(s.items, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 4, 4),
      });
    case 'integer': {
      const min = Number.isFinite(s.minimum) ? s.minimum : -1000;
      const max = Number.isFinite(s.maximum) ? s.maximum : 1000;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
    }
    case 'number':
      return fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(0, -1, s.minimum ?? 0, s.maximum ?? 1),
      );
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      if (s.format === 'uuid') return fc.oneof(fc.constantFrom(...realIds), fc.uuid());
      if (s.format === 'date-time')
        return fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constant('2026-02-30T25:00:00Z'),
        );
      if (s.format === 'date') return fc.constantFrom('2026-01-31', '2026-02-29', '0000-00-00');
      if (s.format === 'email') return fc.emailAddress();
      if (s.format === 'uri') return fc.webUrl();
      const min = s.minLength ?? 0;
      const max = s.maxLength ?? 60;
      return fc.oneof(
        fc.string({ minLength: min, maxLength: Math.min(max, min + 60) }),
        fc.constant('x'.repeat(Math.min(max + 1, 200_000))),
        fc.constant('x'.repeat(min)),
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A whole JSON body: schema-valid, schema-valid with one field broken, any JSON, or not JSON at all. */
function bodyFor(schema: Schema | undefined): fc.Arbitrary<{ payload: string; contentType: string }> {
  const json = (v: unknown) => ({ payload: JSON.stringify(v) ?? 'null', contentType: 'application/json' });
  const valid = fromSchema(schema);
  const broken = fc
    .tuple(valid, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
    .map(([v, key, value]) =>
      v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as object), [key || 'type']: value } : value,
    );
  return fc.oneof(
    { weight: 4, arbitrary: valid.map(json) },
    { weight: 2, arbitrary: broken.map(json) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{', '{"type":', '[1,2', '\u0000', '', 'null', '{"__proto__":{"x":1}}')
        .map((p) => ({ payload: p, contentType: 'application/json' })),
    },
    {
      weight: 1,
      arbitrary: fc.string({ maxLength: 50 }).map((p) => ({ payload: p, contentType: 'text/plain' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ maxLength: 50 })
        .map((p) => ({ payload: p, contentType: 'application/x-www-form-urlencoded' })),
    },
  );
}

/** A multipart body: well formed with odd fields and files, truncated, or with a lying boundary. */
const multipartBody = fc
  .record({
    criteria: fc.oneof(fc.constantFrom('L1', 'L1,L2', '', 'ZZ', 'L1,,', 'l1'), fc.string({ maxLength: 20 })),
    filename: fc.oneof(
      fc.constantFrom('a.pdf', '../x.pdf', '', 'a.zip', 'a.exe', '😀.png'),
      fc.string({ maxLength: 30 }),
    ),
    content: fc.oneof(
      fc.constant(Buffer.from('%PDF-1.4\n%%EOF\n')),
      fc.constant(Buffer.from('PK\u0003\u0004garbage')),
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    ),
    mode: fc.constantFrom('whole', 'truncated', 'wrong-boundary', 'no-files', 'field-after-file'),
  })
  .map(({ criteria, filename, content, mode }) => {
    const b = `----fuzz${Math.random().toString(16).slice(2)}`;
    const field = `--${b}\r\nContent-Disposition: form-data; name="criteria"\r\n\r\n${criteria}\r\n`;
    const file = Buffer.concat([
      Buffer.from(
        `--${b}\r\nContent-Disposition: form-data; name="files"; filename="${filename.replaceAll('"', '')}"\r\nContent-Type: application/pdf\r\n\r\n`,
      ),
      content,
      Buffer.from('\r\n'),
    ]);
    const end = Buffer.from(`--${b}--\r\n`);
    const parts =
      mode === 'no-files'
        ? [Buffer.from(field), end]
        : mode === 'field-after-file'
          ? [file, Buffer.from(field), end]
          : [Buffer.from(field), file, mode === 'truncated' ? Buffer.alloc(0) : end];
    return {
      payload: Buffer.concat(parts),
      contentType: `multipart/form-data; boundary=${mode === 'wrong-boundary' ? 'other' : b}`,
    };
  });

function pathValue(name: string): fc.Arbitrary<string> {
  if (name === 'code') return fc.oneof(fc.constantFrom('L1', 'E2', 'S3', 'ZZ9'), garbage);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...realIds) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: garbage },
  );
}

const headersArb = fc.record(
  {
    authorization: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...tokens).map((tk) => `Bearer ${tk}`) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer sa_nope', 'Basic Zm9vOmJhcg==', '') },
    ),
    'if-match': fc.oneof(
      fc.constantFrom('W/"1"', '"1"', 'W/"999999999999999999"', '*'),
      fc.string({ maxLength: 20 }),
    ),
    'idempotency-key': fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })),
    accept: fc.constantFrom(
      'application/json',
      'text/csv',
      '*/*',
      'application/pdf',
      'text/html',
      'garbage/;;',
    ),
  },
  { requiredKeys: ['authorization'] },
);

/** Keeps only the characters an HTTP header may carry (inject refuses the others before the server sees them). */
const headerSafe = (v: string) => v.replace(/[^\t\x20-\x7e]/g, '');

describe('fuzzing every operation of the OpenAPI document', () => {
  it('finds the operations', () => {
    expect(operations.length).toBeGreaterThan(20);
  });

  it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))(
    '%s: no 5xx; every 4xx is a problem document',
    async (_, { method, path, op }) => {
      const params = (op.parameters ?? []) as {
        in: string;
        name: string;
        schema?: Schema;
        required?: boolean;
      }[];
      const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const queryParams = params.filter((p) => p.in === 'query');
      const content = op.requestBody?.content ?? {};
      const isMultipart =
        Boolean(content['multipart/form-data']) || (/\/evidence$/.test(path) && method === 'POST');
      const jsonSchema = content['application/json']?.schema;

      const request = fc.record({
        pathValues: fc.tuple(...pathNames.map(pathValue), fc.constant('')),
        query: fc.oneof(
          fc.constant({} as Record<string, unknown>),
          fc.record(
            Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema), garbage)])),
            { requiredKeys: [] },
          ),
          fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), garbage, { maxKeys: 3 }),
        ),
        body: isMultipart
          ? fc.oneof(
              multipartBody,
              bodyFor(undefined).map((b) => ({ ...b, payload: Buffer.from(b.payload) })),
            )
          : bodyFor(jsonSchema).map((b) => ({ ...b, payload: Buffer.from(b.payload) })),
        headers: headersArb,
      });

      await fc.assert(
        fc.asyncProperty(request, async ({ pathValues, query, body, headers }) => {
          let url = path;
          pathNames.forEach((name, i) => {
            url = url.replace(`{${name}}`, encodeURIComponent(pathValues[i]));
          });
          const qs = new URLSearchParams(
            Object.entries(query).map(([k, v]): [string, string] => [
              k,
              typeof v === 'string' ? v : String(JSON.stringify(v)),
            ]),
          ).toString();
          const sendsBody = method !== 'GET' && method !== 'DELETE';
          const res = await t.app.inject({
            method: method as 'GET',
            url: qs ? `${url}?${qs}` : url,
            headers: {
              ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, headerSafe(String(v))])),
              ...(sendsBody ? { 'content-type': body.contentType } : {}),
            },
            ...(sendsBody ? { payload: body.payload } : {}),
          });
          const where = `${method} ${url}${qs ? `?${qs}` : ''} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          if (res.statusCode >= 500) throw new Error(`5xx: ${where}`);
          if (res.statusCode >= 400) {
            if (!String(res.headers['content-type']).startsWith('application/problem+json'))
              throw new Error(`4xx without a problem document: ${where}`);
            const problem = JSON.parse(res.body);
            if (typeof problem.code !== 'string' || problem.status !== res.statusCode)
              throw new Error(`malformed problem: ${where}`);
          }
        }),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 25), endOnFailure: true },
      );
    },
    120_000,
  );
});
