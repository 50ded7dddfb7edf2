import { z } from 'zod';
import { sortQuery } from '../http/pagination.ts';
import { USER_SORT_KEYS } from './repository.ts';

export const grantInput = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('admin') }),
  z.strictObject({ role: z.literal('lead'), areaId: z.uuid() }),
  z.strictObject({ role: z.literal('appraiser') }),
  z.strictObject({ role: z.literal('applicant'), organisationId: z.uuid() }),
]);
export type GrantInput = z.infer<typeof grantInput>;

export const appraiserProfileInput = z.strictObject({
  livedExperience: z.boolean(),
  localGroup: z.boolean().default(false),
  cosStaff: z.boolean().default(false),
  homeAreaId: z.uuid().nullable().optional(),
});

export const createUserBody = z.strictObject({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(200),
  grants: z.array(grantInput).max(50).default([]),
  appraiserProfile: appraiserProfileInput.optional(),
});
export type CreateUserInput = z.infer<typeof createUserBody>;

export const grantView = z
  .object({
    role: z.enum(['admin', 'lead', 'appraiser', 'applicant']),
    areaId: z.uuid().optional(),
    organisationId: z.uuid().optional(),
  })
  .meta({ id: 'Grant' });

export const appraiserProfileView = z
  .object({
    /** Shown only to leads, admins and the person themself (SPEC §3). */
    livedExperience: z.boolean().optional(),
    localGroup: z.boolean(),
    cosStaff: z.boolean(),
    homeAreaId: z.uuid().nullable(),
  })
  .meta({ id: 'AppraiserProfile' });

export const userView = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    grants: z.array(grantView),
    appraiserProfile: appraiserProfileView.nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'User' });
export type UserView = z.infer<typeof userView>;

// Every field is optional, so a bare POST (no body: Fastify passes null) issues a token that never expires.
export const issueTokenBody = z
  .strictObject({ expiresInDays: z.number().int().min(1).max(3650).optional() })
  .nullable()
  .default({});

export const issuedTokenView = z
  .object({ id: z.uuid(), token: z.string(), expiresAt: z.string().nullable() })
  .meta({ id: 'IssuedToken', description: 'The token itself is shown only here, once.' });

export const tokenView = z
  .object({
    id: z.uuid(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'Token' });

export const listUsersQuery = z.strictObject({
  role: z.enum(['admin', 'lead', 'appraiser', 'applicant']).optional(),
  organisationId: z.uuid().optional(),
  areaId: z.uuid().optional().describe('Leads of this area, and appraisers whose home area it is'),
  email: z.string().max(254).optional(),
  sort: sortQuery(USER_SORT_KEYS),
});
