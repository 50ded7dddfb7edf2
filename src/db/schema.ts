import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Table types for Kysely. Columns are snake_case in SQL; the API speaks camelCase (mapped in each repository). */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface AreasTable {
  id: Generated<string>;
  name: string;
  nation: 'england' | 'wales' | 'scotland' | 'northern_ireland';
  region: string | null;
  local_authorities: JSONColumnType<string[], string, string>;
  lead_organisation: string | null;
  active: boolean;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface StreamsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  award_years: Generated<number>;
  renewal_notice_days: Generated<number>;
  min_panel_size: Generated<number>;
  grace_days: Generated<number>;
  created_at: CreatedAt;
}

export interface CriteriaSetsTable {
  id: Generated<string>;
  stream_id: string;
  version: number;
  note: string | null;
  published_by: string | null;
  published_at: CreatedAt;
}

export interface CriteriaTable {
  criteria_set_id: string;
  code: string;
  process: 'learn' | 'embed' | 'share';
  title: string;
  position: number;
}

export interface OrganisationsTable {
  id: Generated<string>;
  name: string;
  stream_id: string;
  area_id: string;
  phase: string | null;
  urn: string | null;
  website: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  created_at: CreatedAt;
}

export type Role = 'admin' | 'lead' | 'appraiser' | 'applicant';

export interface GrantsTable {
  id: Generated<string>;
  user_id: string;
  role: Role;
  area_id: string | null;
  organisation_id: string | null;
  created_at: CreatedAt;
}

export interface AppraiserProfilesTable {
  user_id: string;
  lived_experience: boolean;
  local_group: boolean;
  cos_staff: boolean;
  home_area_id: string | null;
}

export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: CreatedAt;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export interface PledgesTable {
  organisation_id: string;
  signatory_name: string;
  signatory_role: string;
  signed_by: string;
  signed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ConflictsTable {
  user_id: string;
  organisation_id: string;
  reason: string;
  declared_at: CreatedAt;
}

export interface Database {
  areas: AreasTable;
  streams: StreamsTable;
  criteria_sets: CriteriaSetsTable;
  criteria: CriteriaTable;
  organisations: OrganisationsTable;
  users: UsersTable;
  grants: GrantsTable;
  appraiser_profiles: AppraiserProfilesTable;
  api_tokens: ApiTokensTable;
  pledges: PledgesTable;
  conflicts: ConflictsTable;
}
