import { validationFailed } from '../../domain/errors.ts';

/** The criterion codes of a comma-separated list, each one of `allowed` (the application's criteria). */
export function parseCriteria(value: string, allowed: readonly string[]): string[] {
  const codes = [
    ...new Set(
      value
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    ),
  ];
  const error = (message: string) => validationFailed(message, [{ path: 'body.criteria', message }]);
  if (codes.length === 0)
    throw error(`criteria must name at least one criterion code of: ${allowed.join(', ')}`);
  const unknown = codes.filter((c) => !allowed.includes(c));
  if (unknown.length > 0) {
    throw error(
      `unknown criterion code ${unknown.join(', ')}; this application's criteria are ${allowed.join(', ')}`,
    );
  }
  return codes;
}
