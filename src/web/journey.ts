import { readBlocker } from '../../workflows/application.ts';
import type { Locale } from '../db/schema.ts';
import { DomainError } from '../domain/errors.ts';
import { formatDate, type Translate } from './i18n.ts';

/**
 * How the school's pages put the services' answers into words: a state in plain language, the next
 * step, a blocker as a link to the page that fixes it, a refused upload as a sentence. Presentation
 * only: what may be done is decided by the services.
 */

/** The catalogue key of a dotted workflow state (`appraisal.reviewing` → `appraisal_reviewing`). */
export const stateKey = (state: string) => state.replace(/\./g, '_');

export const statusText = (t: Translate, state: string) => t(`apply.status.${stateKey(state)}`);

/** Where a person goes next for an application in this top-level state, and what the link says. */
export function nextStep(t: Translate, id: string, status: string): { href: string; text: string } {
  const key = ['draft', 'awaitingResponse', 'furtherEvidenceRequested', 'awarded'].includes(status)
    ? status
    : 'other';
  return { href: `/apply/${id}`, text: t(`apply.next.${key}`) };
}

/** States in which the organisation holds the application: its answers and evidence may change. */
export const EDITABLE_STATUSES: readonly string[] = ['draft', 'awaitingResponse', 'furtherEvidenceRequested'];

/** Sizes as people read them: 512 bytes, 12 KB, 3.4 MB, 2 GB. */
export function formatSize(locale: Locale, bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const number = new Intl.NumberFormat(locale === 'cy' ? 'cy-GB' : 'en-GB', {
    maximumFractionDigits: unit === 0 || value >= 10 ? 0 : 1,
  }).format(value);
  return `${number} ${units[unit]}`;
}

/** A short name for a file's type, from the extension it is stored under (its detected type's). */
export function fileType(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(dot + 1).toUpperCase() : '–';
}

export type Blocker = { text: string; href?: string };

/**
 * The reasons SUBMIT or RESUBMIT is refused (the workflow's blockers, in English) as links to the pages
 * that fix them, in the person's language; a reason the workflow does not name is shown as it is.
 */
export function blockerLinks(
  t: Translate,
  applicationId: string,
  blockers: string[],
  titles: Map<string, string>,
  organisationId: string,
): Blocker[] {
  return blockers.map((sentence) => {
    const blocker = readBlocker(sentence);
    const code = blocker?.criterion ?? '';
    const criterion = { code, title: titles.get(code) ?? '' };
    const page = `/apply/${applicationId}/criteria/${code}`;
    switch (blocker?.kind) {
      case 'answer':
        return { text: t('check.blocker.answer', criterion), href: `${page}#answer` };
      case 'evidence':
        return { text: t('check.blocker.evidence', criterion), href: `${page}#evidence` };
      case 'newEvidence':
        return { text: t('check.blocker.newEvidence', criterion), href: `${page}#evidence` };
      case 'pledge':
        return { text: t('check.blocker.pledge'), href: `/apply/organisations/${organisationId}/pledge` };
      case 'route':
        return { text: t('check.blocker.route') };
      default:
        return { text: sentence };
    }
  });
}

/** A name the data keeps in both languages (a criterion's title, a stream's name): the Welsh if any. */
export const localised = (locale: Locale, english: string, welsh: string | null | undefined): string =>
  locale === 'cy' && welsh ? welsh : english;

/** An application's view with its criteria's titles in the page's language. */
export const viewIn = <V extends { criteria: { title: string; titleCy: string | null }[] }>(
  locale: Locale,
  view: V,
): V => ({
  ...view,
  criteria: view.criteria.map((c) => ({ ...c, title: localised(locale, c.title, c.titleCy) })),
});

/**
 * A refused upload in plain words, naming the file where the service named it (its codes and extra
 * fields, see src/evidence/intake/limits.ts and src/evidence/zip.ts).
 */
export function uploadErrorText(
  t: Translate,
  locale: Locale,
  err: unknown,
  limits: { maxFileBytes: number; maxApplicationBytes: number },
): string {
  if (!(err instanceof DomainError)) return t('upload.errors.generic');
  const extra = err.extra as Record<string, unknown>;
  const name = String(extra.filename ?? extra.entry ?? '');
  const size = (value: unknown) => formatSize(locale, Number(value));
  switch (err.code) {
    case 'unsupported-media-type':
      return t('upload.errors.type', { name: name || t('upload.errors.aFile') });
    case 'payload-too-large':
      switch (extra.limit) {
        case 'maxFileBytes':
          return t('upload.errors.fileTooLarge', {
            name: name || t('upload.errors.aFile'),
            limit: size(extra.limitValue ?? limits.maxFileBytes),
          });
        case 'maxApplicationBytes':
          return t('upload.errors.applicationFull', { limit: size(extra.limitValue) });
        case 'maxFilesPerRequest':
          return t('upload.errors.tooManyFiles', { limit: extra.limitValue });
        case 'zipMaxBytes':
          return t('upload.errors.zipTooLarge', { limit: size(extra.limitValue) });
        default:
          return t('upload.errors.zipLimit');
      }
    case 'validation-failed':
      if (extra.entry) return t('upload.errors.zipEntry', { entry: extra.entry });
      if (/no files inside criterion folders/.test(err.message)) return t('upload.errors.emptyFolder');
      if (/zip archive has no files/.test(err.message)) return t('upload.errors.emptyFolder');
      if (/ is empty$/.test(err.message))
        return t('upload.errors.empty', { name: /^"(.*)" is empty$/.exec(err.message)?.[1] ?? '' });
      if (/at least one file|criteria field is missing|criteria field before/i.test(err.message))
        return t('upload.errors.noFile');
      if (/climbs out/.test(err.message)) return t('upload.errors.path');
      return t('upload.errors.generic');
    case 'illegal-transition':
      return t('upload.errors.closed');
    default:
      return t('upload.errors.generic');
  }
}

/** A date the view holds as ISO text, as people read it; null when there is none. */
export const isoDateText = (locale: Locale, value: unknown, withTime = false): string | null =>
  typeof value === 'string' && value ? formatDate(locale, new Date(value), withTime) : null;

/** An application's meeting as its view holds it. */
export type Meeting = {
  at: string | null;
  mode: string | null;
  location: string | null;
  heldAt: string | null;
  notes?: string | null;
};

/** An application's meeting as the pages show it (null when none was arranged or held). */
export function meetingShown(t: Translate, locale: Locale, view: { meeting: unknown }) {
  const meeting = view.meeting as Meeting | null;
  if (!meeting || (!meeting.at && !meeting.heldAt)) return null;
  return {
    at: isoDateText(locale, meeting.at, true),
    mode: meeting.mode ? t(`progress.mode.${meeting.mode}`) : null,
    location: meeting.location,
    heldAt: isoDateText(locale, meeting.heldAt),
    notes: meeting.notes ?? null,
  };
}

/** An application's decision as its view holds it. */
export type Decision = {
  outcome: string;
  rationale: string;
  requests: { criterion: string; request: string }[] | null;
  dueBy: string | null;
};

/**
 * An application's decision as the pages show it: the outcome in words, and each further-evidence
 * request with its criterion's title (and, for the school, a link to where it adds the evidence).
 */
export function decisionShown(
  t: Translate,
  locale: Locale,
  view: { decision: unknown },
  titles: Map<string, string>,
  requestHref?: (criterion: string) => string,
) {
  const decision = view.decision as Decision | null;
  if (!decision) return null;
  return {
    outcome: t(`progress.outcome.${decision.outcome}`),
    rationale: decision.rationale,
    requests: (decision.requests ?? []).map((r) => ({
      ...r,
      title: titles.get(r.criterion) ?? '',
      ...(requestHref ? { href: requestHref(r.criterion) } : {}),
    })),
    dueBy: isoDateText(locale, decision.dueBy),
  };
}
