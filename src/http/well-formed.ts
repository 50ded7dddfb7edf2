import type { FastifyInstance } from 'fastify';
import { validationFailed } from '../domain/errors.ts';

/**
 * Text that cannot be stored is bad input (400), never a server fault: a lone UTF-16 surrogate (`"\ud800"`
 * in JSON) has no UTF-8 form, so Postgres refuses it inside jsonb and the driver silently replaces it in
 * text. Checked once for every request's body, query and path parameters, before validation.
 */
export function registerWellFormedText(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['body', request.body],
      ['query', request.query],
      ['params', request.params],
    ] as const) {
      const path = illFormedPath(value, where);
      if (path) {
        throw validationFailed(`${path}: text must be valid Unicode (a lone surrogate was sent)`, [
          { path, message: 'not well-formed Unicode' },
        ]);
      }
    }
  });
}

/** The path of the first string (or key) that is not well-formed UTF-16, or null. */
function illFormedPath(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.isWellFormed() ? null : path;
  if (!value || typeof value !== 'object' || depth > 64 || Buffer.isBuffer(value)) return null;
  for (const [key, inner] of Object.entries(value)) {
    if (!key.isWellFormed()) return path;
    const found = illFormedPath(inner, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}
