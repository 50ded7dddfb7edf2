import type { Locale } from '../db/schema.ts';
import { formatDate, translator } from '../web/i18n.ts';

/** The e-mail carrying a sign-in link or an invitation, in the recipient's language. */

/** What a local lead offered someone (SPEC §3): accepted on the service, after signing in. */
export type OfferSummary = {
  /** The organisations whose applicant member they are invited to be. */
  organisations: string[];
  /** Whether they are invited to appraise applications. */
  appraiser: boolean;
  /** Until when the invitation can be accepted. */
  until: Date;
};

export type LinkMessage = {
  purpose: 'sign-in' | 'invitation';
  name: string;
  link: string;
  expiresAt: Date;
  locale: Locale;
  /** Who invited them (invitations). */
  invitedBy?: string | null;
  /** Minutes the link lasts (sign-in links). */
  minutes?: number;
  /** An invitation to join an organisation or the appraisers, waiting to be accepted after signing in. */
  offer?: OfferSummary;
};

/**
 * The words of an offer's invitation, which the page catalogues (src/web/locales) do not hold: typed,
 * so that a string missing in either language does not compile. The Welsh was written carefully but
 * not by a translator; have it reviewed before production.
 */
type OfferWords = {
  /** "join Hillfields Primary School", "appraise applications as a panel member", or both. */
  offer: (o: OfferSummary) => string;
  subject: (offer: string) => string;
  intro: (inviter: string, offer: string) => string;
  button: string;
  validity: (link: string, until: string) => string;
};

type And = string | ((next: string) => string);
const list = (items: string[], and: And) => {
  if (items.length <= 1) return items.join('');
  const last = items[items.length - 1];
  return `${items.slice(0, -1).join(', ')} ${typeof and === 'string' ? and : and(last)} ${last}`;
};
/** Welsh "and" and "with" take a g before a vowel: a/ac, â/ag. */
const vowel = (next: string) => /^[aeiouwyâêîôûŵŷ]/i.test(next);
const cyAnd = (next: string) => (vowel(next) ? 'ac' : 'a');
const cyWith = (next: string) => (vowel(next) ? 'ag' : 'â');

const OFFER_WORDS: Record<Locale, OfferWords> = {
  en: {
    offer: (o) =>
      list(
        [
          ...(o.organisations.length ? [`join ${list(o.organisations, 'and')}`] : []),
          ...(o.appraiser ? ['appraise Sanctuary Award applications as a panel member'] : []),
        ],
        'and',
      ),
    subject: (offer) => `You are invited to ${offer}`,
    intro: (inviter, offer) =>
      `${inviter} has invited you to ${offer} on Sanctuary Awards, City of Sanctuary UK's service for applying for and appraising Sanctuary Awards. Sign in with this link: you will then see the invitation, and can accept or decline it.`,
    button: 'Sign in to see the invitation',
    validity: (link, until) =>
      `The link works once, until ${link}. The invitation stays open until ${until}: after the link has expired, ask for a new sign-in link on the service's sign-in page.`,
  },
  cy: {
    offer: (o) =>
      list(
        [
          ...(o.organisations.length
            ? [`ymuno ${cyWith(o.organisations[0])} ${list(o.organisations, cyAnd)}`]
            : []),
          ...(o.appraiser ? ['arfarnu ceisiadau am Wobr Noddfa fel aelod o banel'] : []),
        ],
        cyAnd,
      ),
    subject: (offer) => `Gwahoddiad i ${offer}`,
    intro: (inviter, offer) =>
      `Mae ${inviter} wedi eich gwahodd i ${offer} ar Wobrau Noddfa, gwasanaeth City of Sanctuary UK ar gyfer gwneud cais am Wobrau Noddfa a'u harfarnu. Mewngofnodwch gyda'r ddolen hon: yna fe welwch y gwahoddiad, a gallwch ei dderbyn neu ei wrthod.`,
    button: 'Mewngofnodi i weld y gwahoddiad',
    validity: (link, until) =>
      `Mae'r ddolen yn gweithio unwaith, tan ${link}. Mae'r gwahoddiad ar agor tan ${until}: ar ôl i'r ddolen ddod i ben, gofynnwch am ddolen fewngofnodi newydd ar dudalen fewngofnodi'r gwasanaeth.`,
  },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderLinkMessage(m: LinkMessage): { subject: string; text: string; html: string } {
  const t = translator(m.locale);
  const vars = {
    name: m.name,
    inviter: m.invitedBy ?? t('service.organisation'),
    minutes: m.minutes ?? 0,
    date: formatDate(m.locale, m.expiresAt, true),
    service: t('service.name'),
  };
  const key = m.purpose === 'invitation' ? 'email.invitation' : 'email.signIn';
  let subject = t(`${key}.subject`, vars);
  let before = [t('email.greeting', vars), t(`${key}.intro`, vars)];
  let button = t(`${key}.button`, vars);
  let after = [t(`${key}.validity`, vars), t(`${key}.ignore`, vars), t('email.signature', vars)];
  if (m.purpose === 'invitation' && m.offer) {
    const w = OFFER_WORDS[m.locale];
    const offer = w.offer(m.offer);
    subject = w.subject(offer);
    before = [t('email.greeting', vars), w.intro(vars.inviter, offer)];
    button = w.button;
    after = [
      w.validity(vars.date, formatDate(m.locale, m.offer.until)),
      t(`${key}.ignore`, vars),
      t('email.signature', vars),
    ];
  }
  const text = [...before, m.link, ...after].join('\n\n');
  const html = [
    `<!doctype html><html lang="${m.locale}"><body style="font-family:arial,sans-serif;line-height:1.5;max-width:40em">`,
    ...before.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p><a href="${escapeHtml(m.link)}">${escapeHtml(button)}</a></p>`,
    ...after.map((p) => `<p>${escapeHtml(p)}</p>`),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html };
}
