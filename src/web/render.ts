import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

/** Where GOV.UK Frontend's templates, scripts and assets are (its package's dist/govuk). */
export const GOVUK_DIR = join(
  dirname(createRequire(import.meta.url).resolve('govuk-frontend/package.json')),
  'dist',
  'govuk',
);
const HERE = dirname(fileURLToPath(import.meta.url));
export const VIEWS_DIR = join(HERE, 'views');
export const STATIC_DIR = join(HERE, 'static');

/**
 * Pages are nunjucks templates extending GOV.UK Frontend's page template, found under our views first,
 * then GOV.UK Frontend's dist (so `govuk/template.njk` and `govuk/components/<name>/macro.njk` resolve).
 * Autoescaping is on: every value printed is escaped unless a template marks it safe.
 */
export function createRenderer() {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([VIEWS_DIR, dirname(GOVUK_DIR)]), {
    autoescape: true,
    throwOnUndefined: false,
  });
  return {
    render: (view: string, context: Record<string, unknown>) => env.render(`${view}.njk`, context),
  };
}

/**
 * The page template's inline script (it marks the body as JavaScript-enabled) is allowed by its hash,
 * computed here from the template itself so an upgrade of GOV.UK Frontend cannot silently break it.
 */
export function inlineScriptHashes(): string[] {
  const template = readFileSync(join(GOVUK_DIR, 'template.njk'), 'utf8');
  const hashes = [...template.matchAll(/<script\b[^>]*>([^<]+)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
  if (hashes.length === 0) throw new Error('GOV.UK Frontend template: its inline script was not found');
  return hashes;
}

/**
 * A strict policy for pages: scripts only from here or by hash, no inline styles, forms posting only
 * here, never framed. `upgrade-insecure-requests` only behind TLS: on plain http (the embedded default
 * on localhost) it would send the browser to an https address nothing answers.
 */
export function pageContentSecurityPolicy(scriptHashes: string[], overTls: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${scriptHashes.join(' ')}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(overTls ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}
