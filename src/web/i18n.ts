import { existsSync, readdirSync, readFileSync } from 'node:fs';
import i18next, { type TFunction } from 'i18next';
import type { Locale } from '../db/schema.ts';

/**
 * English and Welsh (SPEC §9): every string people read, pages and e-mails alike, comes from the JSON
 * catalogues in ./locales (see loadCatalogue). Welsh plurals use i18next's suffixes (_zero, _one, _two, _few, _many, _other)
 * from the language's own plural rules.
 */

export const LOCALES: readonly Locale[] = ['en', 'cy'];
export const DEFAULT_LOCALE: Locale = 'en';

export const isLocale = (value: unknown): value is Locale => value === 'en' || value === 'cy';

type Catalogue = Record<string, unknown>;
const readJson = (url: URL) => JSON.parse(readFileSync(url, 'utf8')) as Catalogue;

/**
 * One language's catalogue: `locales/<locale>.json` (the shared strings and the school's pages), plus
 * one file per part of the interface in `locales/<locale>/<part>.json`, whose strings sit under the key
 * `<part>` (so `locales/en/review.json`'s `title` is `review.title`). A part may not also be a key of
 * the main file.
 */
export function loadCatalogue(locale: Locale): Catalogue {
  const main = readJson(new URL(`./locales/${locale}.json`, import.meta.url));
  const dir = new URL(`./locales/${locale}/`, import.meta.url);
  if (!existsSync(dir)) return main;
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    const part = file.slice(0, -'.json'.length);
    if (part in main)
      throw new Error(`locales/${locale}/${file}: "${part}" is already a key of ${locale}.json`);
    main[part] = readJson(new URL(file, dir));
  }
  return main;
}

const i18n = i18next.createInstance();
void i18n.init({
  resources: { en: { translation: loadCatalogue('en') }, cy: { translation: loadCatalogue('cy') } },
  supportedLngs: [...LOCALES],
  fallbackLng: DEFAULT_LOCALE,
  initAsync: false,
  returnNull: false,
  // Values are plain text; the templates escape what they print.
  interpolation: { escapeValue: false },
});

export type Translate = TFunction;

/** The translation function of one language. */
export function translator(locale: Locale): Translate {
  return i18n.getFixedT(locale);
}

/**
 * Dates as people read them in that language, e.g. "3 March 2027" / "3 Mawrth 2027". The formatters
 * are made once: building an Intl.DateTimeFormat costs far more than formatting with it (a dashboard
 * formats hundreds of dates).
 */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
export function formatDate(locale: Locale, value: Date, withTime = false): string {
  const key = `${locale}:${withTime}`;
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      ...(withTime ? { hour: '2-digit', minute: '2-digit', hour12: false } : {}),
      timeZone: 'Europe/London',
    });
    dateFormats.set(key, format);
  }
  return format.format(value);
}

/** The language an Accept-Language header prefers among ours, if any. */
export function preferredLocale(header: string | undefined): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { lang: tag.trim().toLowerCase().split('-')[0], q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((entry) => entry.lang).find(isLocale) ?? null;
}
