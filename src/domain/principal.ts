import type { Role } from '../db/schema.ts';

export type Grant = { role: Role; areaId: string | null; organisationId: string | null };

/** The authenticated caller, with what their grants let them see (SPEC §3). */
export type Principal = {
  userId: string;
  email: string;
  name: string;
  tokenId: string;
  grants: Grant[];
  isAdmin: boolean;
  isAppraiser: boolean;
  leadAreaIds: string[];
  memberOrganisationIds: string[];
};

/** Who causes a workflow event: a person, or the system (timers, renewals). */
export type WorkflowActor = Principal | 'system';

export function principalFromGrants(
  user: { id: string; email: string; name: string },
  tokenId: string,
  grants: Grant[],
): Principal {
  return {
    userId: user.id,
    email: user.email,
    name: user.name,
    tokenId,
    grants,
    isAdmin: grants.some((g) => g.role === 'admin'),
    isAppraiser: grants.some((g) => g.role === 'appraiser'),
    leadAreaIds: grants.filter((g) => g.role === 'lead').map((g) => g.areaId as string),
    memberOrganisationIds: grants
      .filter((g) => g.role === 'applicant')
      .map((g) => g.organisationId as string),
  };
}
