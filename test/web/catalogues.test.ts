import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadCatalogue } from '../../src/web/i18n.ts';

/**
 * English and Welsh (SPEC §9): both catalogues hold the same strings. A plural counts as one key
 * whatever its suffixes (Welsh has six forms, English two); each language has every form its own
 * plural rules ask for; and every key a template names exists.
 */

const WEB = fileURLToPath(new URL('../../src/web/', import.meta.url));
const PLURAL = /_(zero|one|two|few|many|other)$/;
const LOCALES = ['en', 'cy'] as const;

const catalogue = (locale: (typeof LOCALES)[number]) => loadCatalogue(locale);

/** Every leaf key, dotted: { a: { b_one, b_other } } → a.b_one, a.b_other. */
function leaves(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix];
  if (!node || typeof node !== 'object' || Array.isArray(node)) throw new Error(`${prefix}: not a string`);
  return Object.entries(node).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

const keysOf = (locale: (typeof LOCALES)[number]) => leaves(catalogue(locale));
/** The string at a dotted key. */
const valueAt = (node: unknown, key: string): unknown =>
  key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], node);
const baseKeys = (locale: (typeof LOCALES)[number]) =>
  [...new Set(keysOf(locale).map((k) => k.replace(PLURAL, '')))].sort();

describe('the English and Welsh catalogues', () => {
  it('have the same keys (plural forms counted as one)', () => {
    const en = baseKeys('en');
    const cy = baseKeys('cy');
    expect(cy.filter((k) => !en.includes(k))).toEqual([]);
    expect(en.filter((k) => !cy.includes(k))).toEqual([]);
  });

  it.each(LOCALES)('%s has every plural form its language needs, and no empty string', (locale) => {
    const keys = keysOf(locale);
    const needed = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
    const plurals = [...new Set(keys.filter((k) => PLURAL.test(k)).map((k) => k.replace(PLURAL, '')))];
    expect(plurals.length).toBeGreaterThan(0);
    for (const base of plurals) {
      expect([base, needed.filter((form) => !keys.includes(`${base}_${form}`))]).toEqual([base, []]);
    }
    const values = keys.map((k) => valueAt(catalogue(locale), k));
    expect(values.filter((v) => typeof v !== 'string' || v.trim() === '')).toEqual([]);
  });

  it('name the same interpolated values in both languages', () => {
    const vars = (locale: (typeof LOCALES)[number]) => {
      const found = new Map<string, Set<string>>();
      const cat = catalogue(locale);
      for (const key of keysOf(locale)) {
        const value = valueAt(cat, key) as string;
        const base = key.replace(PLURAL, '');
        const names = found.get(base) ?? new Set<string>();
        for (const m of value.matchAll(/\{\{-?\s*(\w+)\s*\}\}/g)) if (m[1] !== 'count') names.add(m[1]);
        found.set(base, names);
      }
      return found;
    };
    const en = vars('en');
    const cy = vars('cy');
    for (const [key, names] of en)
      expect([key, [...(cy.get(key) ?? [])].sort()]).toEqual([key, [...names].sort()]);
  });

  it('hold every key the templates name', () => {
    const en = new Set(baseKeys('en'));
    const views = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? views(join(dir, e.name)) : e.name.endsWith('.njk') ? [join(dir, e.name)] : [],
      );
    const named = views(join(WEB, 'views')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\bt\("([\w.]+)"\s*[,)]/g)].map((m) => m[1]),
    );
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((k) => !en.has(k))).toEqual([]);
  });
});
