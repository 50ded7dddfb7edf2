import type { Locale } from '../db/schema.ts';
import { formatDate, translator } from '../web/i18n.ts';

/** The e-mail carrying a sign-in link or an invitation, in the recipient's language. */

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
  const subject = t(`${key}.subject`, vars);
  const before = [t('email.greeting', vars), t(`${key}.intro`, vars)];
  const after = [t(`${key}.validity`, vars), t(`${key}.ignore`, vars), t('email.signature', vars)];
  const text = [...before, m.link, ...after].join('\n\n');
  const html = [
    `<!doctype html><html lang="${m.locale}"><body style="font-family:arial,sans-serif;line-height:1.5;max-width:40em">`,
    ...before.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p><a href="${escapeHtml(m.link)}">${escapeHtml(t(`${key}.button`, vars))}</a></p>`,
    ...after.map((p) => `<p>${escapeHtml(p)}</p>`),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html };
}
