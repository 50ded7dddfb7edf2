import { z } from 'zod';
import { PROBLEM_STATUS } from './problem.ts';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.enum(Object.keys(PROBLEM_STATUS) as [keyof typeof PROBLEM_STATUS]),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    blockers: z.array(z.string()).optional(),
  })
  .loose()
  .meta({ id: 'Problem', description: 'RFC 9457 problem document' });

/** Documents the problem responses a route can give. */
export function problemResponses(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]));
}

/**
 * The order of the component schemas in the document, by domain. Zod registers a named schema when
 * its module loads, so without a fixed order the document's bytes would change whenever imports are
 * reordered. Request (`…Input`) schemas come first, then responses; a schema not named here follows
 * in load order.
 */
const COMPONENT_ORDER = [
  'Problem',
  'Application',
  'ApplicationSummary',
  'HistoryEvent',
  'Review',
  'Area',
  'Evidence',
  'EvidenceList',
  'EvidenceUploadResult',
  'EvidenceUpload',
  'Award',
  'RegisterEntry',
  'RegisterVerification',
  'Grant',
  'AppraiserProfile',
  'User',
  'IssuedToken',
  'Token',
  'Pledge',
  'Organisation',
  'AreaDashboard',
  'NationalSummary',
  'Criterion',
  'CriteriaSet',
  'Stream',
  'Me',
  'Notification',
  'WebhookSubscription',
  'CreatedWebhookSubscription',
  'WebhookDelivery',
];

export function orderComponentSchemas<T>(schemas: Record<string, T>): Record<string, T> {
  const rank = (name: string) => {
    const known = COMPONENT_ORDER.indexOf(name.replace(/Input$/, ''));
    return (name.endsWith('Input') ? 0 : 1000) + (known === -1 ? 999 : known);
  };
  return Object.fromEntries(
    Object.entries(schemas)
      .map((entry, loadOrder) => ({ entry, loadOrder }))
      .sort((a, b) => rank(a.entry[0]) - rank(b.entry[0]) || a.loadOrder - b.loadOrder)
      .map(({ entry }) => entry),
  );
}
