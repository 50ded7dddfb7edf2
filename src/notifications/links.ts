/**
 * The pages e-mails link to (SPEC §10: e-mails link to the page they are about), under the service's
 * public address: PUBLIC_URL, else its listen address (`publicBaseUrl` in src/config.ts), never a
 * request's Host header, which a client chooses.
 */
export type PageLinks = {
  application(id: string): string;
  award(id: string): string;
  home(): string;
};

export function pageLinks(baseUrl: string): PageLinks {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    application: (id) => `${base}/applications/${encodeURIComponent(id)}`,
    award: (id) => `${base}/awards/${encodeURIComponent(id)}`,
    home: () => `${base}/`,
  };
}
