import { z } from 'zod';
import { EMAIL_ADDRESS, EMAIL_ADDRESS_MESSAGE } from '../domain/email.ts';
import { sortQuery } from '../http/pagination.ts';
import { USER_SORT_KEYS } from './repository.ts';

/** An e-mail address as the service accepts one (src/domain/email.ts): trimmed, lower-cased, checked. */
export const emailAddress = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .regex(EMAIL_ADDRESS, EMAIL_ADDRESS_MESSAGE)
  .meta({ format: 'email' });

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
  email: emailAddress,
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

export const offeredGrantView = z
  .discriminatedUnion('role', [
    z.object({ role: z.literal('applicant'), organisationId: z.uuid(), organisationName: z.string() }),
    z.object({ role: z.literal('appraiser'), appraiserProfile: appraiserProfileView }),
  ])
  .meta({ id: 'OfferedGrant', description: 'A grant that applies only once the person accepts' });

export const invitationView = z
  .object({
    id: z.uuid(),
    email: z.string(),
    /** The name the inviter gave, never the name of an account the address may already have. */
    name: z.string(),
    grants: z.array(offeredGrantView),
    invitedBy: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
    status: z.enum(['pending', 'accepted', 'declined', 'expired']),
  })
  .meta({
    id: 'Invitation',
    description:
      'Grants a local lead offered someone outside their scope; the person accepts or declines them (GET /me/invitations).',
  });
export type InvitationView = z.infer<typeof invitationView>;

export const invitationSent = z.object({ invitation: invitationView }).meta({
  id: 'InvitationSent',
  description:
    'A local lead named someone outside their scope by e-mail: the same answer whether or not the address already has an account. The grants apply once the person accepts.',
});
