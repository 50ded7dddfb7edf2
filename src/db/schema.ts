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
  name_cy: ColumnType<string | null, string | null | undefined, string | null>;
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
  title_cy: ColumnType<string | null, string | null | undefined, string | null>;
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
  /** When the organisation first applied; set by a trigger on applications (migration 0006). */
  first_applied_at: ColumnType<Date | null, never, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type Locale = 'en' | 'cy';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  /** The language the person chose for pages and e-mails; null until they choose (migration 0007). */
  locale: ColumnType<Locale | null, Locale | null | undefined, Locale | null>;
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

/**
 * A grant offered to someone outside the offerer's scope (SPEC §3), applied only when they accept.
 * `grants` holds the offers as the API shows them (camelCase); `email` is lower-cased.
 */
export type OfferedGrant =
  | { role: 'applicant'; organisationId: string }
  | {
      role: 'appraiser';
      appraiserProfile: {
        livedExperience: boolean;
        localGroup: boolean;
        cosStaff: boolean;
        homeAreaId: string | null;
      };
    };

export interface InvitationsTable {
  id: Generated<string>;
  user_id: string;
  email: string;
  name: string;
  grants: JSONColumnType<OfferedGrant[], string, never>;
  invited_by: string | null;
  created_at: CreatedAt;
  expires_at: Date;
  accepted_at: Date | null;
  declined_at: Date | null;
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
  invitations: InvitationsTable;
  pledges: PledgesTable;
  conflicts: ConflictsTable;
  applications: ApplicationsTable;
  application_answers: ApplicationAnswersTable;
  application_events: ApplicationEventsTable;
  evidence: EvidenceTable;
  evidence_uploads: EvidenceUploadsTable;
  awards: AwardsTable;
  award_events: AwardEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  timers: TimersTable;
  notifications: NotificationsTable;
  notification_events: NotificationEventsTable;
  reminders: RemindersTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  sign_in_links: SignInLinksTable;
  sessions: SessionsTable;
  passkeys: PasskeysTable;
  passkey_challenges: PasskeyChallengesTable;
  settings: SettingsTable;
  directory_changes: DirectoryChangesTable;
  review_drafts: ReviewDraftsTable;
}

export interface ApplicationsTable {
  id: Generated<string>;
  organisation_id: string;
  stream_id: string;
  criteria_set_id: string;
  kind: 'initial' | 'renewal';
  previous_award_id: string | null;
  state: string;
  status: string;
  round: Generated<number>;
  snapshot: JSONColumnType<Record<string, any>, string, string>;
  machine_version: number;
  version: Generated<number>;
  /** Changes to the application's own data that leave `version` alone (answers, evidence): see history.ts. */
  revision: Generated<number>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One row: how many committed transactions changed records that views show beside their own (migration 0009). */
export interface DirectoryChangesTable {
  single: Generated<boolean>;
  generation: Generated<number>;
}

export interface ApplicationAnswersTable {
  application_id: string;
  code: string;
  text: string;
  updated_by: string | null;
  updated_at: UpdatedAt;
}

export interface HistoryEventsTable {
  id: Generated<number>;
  type: string;
  actor_id: string | null;
  from_state: string | null;
  to_state: string | null;
  payload: JSONColumnType<Record<string, unknown>, string, string>;
  version: number | null;
  at: CreatedAt;
}

export interface ApplicationEventsTable extends HistoryEventsTable {
  application_id: string;
  snapshot: JSONColumnType<Record<string, any>, string | null, string | null> | null;
}

export interface EvidenceTable {
  id: Generated<string>;
  application_id: string;
  filename: string;
  media_type: string;
  size: number;
  sha256: string;
  storage_key: string;
  criteria: string[];
  round: number;
  uploaded_by: string | null;
  created_at: CreatedAt;
  deleted_at: Date | null;
  /** The file is gone (e.g. retention) while the row, its metadata and history stay. */
  file_removed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  file_removed_reason: string | null;
  /** What was removed for safeguarding as it was stored; null when it was stored without that step (migration 0012). */
  metadata_removed: string[] | null;
  location_not_removed: Generated<string[]>;
  /** A small WebP preview is stored under `<storage_key>-preview`. */
  has_preview: Generated<boolean>;
}

/** A resumable upload under way: its declared length is reserved against the application's limit. */
export interface EvidenceUploadsTable {
  id: string;
  application_id: string;
  created_by: string;
  length: number;
  filename: string;
  criteria: string | null;
  relative_path: string | null;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
}

export interface AwardsTable {
  id: Generated<string>;
  organisation_id: string;
  stream_id: string;
  application_id: string;
  state: string;
  snapshot: JSONColumnType<Record<string, any>, string, string>;
  machine_version: number;
  version: Generated<number>;
  awarded_at: Date;
  expires_at: Date;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AwardEventsTable extends HistoryEventsTable {
  award_id: string;
}

export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  request_hash: string;
  status_code: number | null;
  response_headers: JSONColumnType<Record<string, string>, string | null, string | null> | null;
  response_body: string | null;
  created_at: CreatedAt;
}

// Timers, notifications, reminders and webhooks (migration 0004).

export interface TimersTable {
  id: Generated<string>;
  entity: 'application' | 'award';
  entity_id: string;
  event_type: string;
  due_at: Date;
  status: Generated<'pending' | 'fired' | 'skipped' | 'cancelled' | 'failed'>;
  attempts: Generated<number>;
  outcome: string | null;
  created_at: CreatedAt;
  finished_at: Date | null;
}

/** A workflow event still to be turned into notifications (migration 0018, src/notifications/fan-out.ts). */
export interface NotificationEventsTable {
  id: Generated<string>;
  entity: 'application' | 'award';
  entity_id: string;
  /** The event's type without its entity (SUBMIT). */
  event_type: string;
  audiences: string[];
  /** Who the audiences are: an AudienceScope (src/notifications/recipients.ts), as JSON text. */
  scope: string;
  /** What the message says: a MessageContext (src/notifications/messages.ts), as JSON text. */
  message: string;
  actor_id: string | null;
  created_at: ColumnType<Date, Date, Date>;
}

export interface NotificationsTable {
  id: Generated<string>;
  user_id: string;
  kind: 'event' | 'digest';
  event_type: string;
  entity: string | null;
  entity_id: string | null;
  subject: string;
  body_text: string;
  body_html: string;
  email_to: string;
  email_status: Generated<'pending' | 'sent' | 'failed' | 'skipped'>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  sent_at: Date | null;
  digest_day: string | null;
  created_at: CreatedAt;
}

export interface RemindersTable {
  id: Generated<string>;
  kind: string;
  user_id: string;
  entity: string;
  entity_id: string;
  dedupe_key: string;
  summary: string;
  digest_id: string | null;
  created_at: CreatedAt;
}

export interface WebhookSubscriptionsTable {
  id: Generated<string>;
  url: string;
  event_types: string[];
  area_id: string | null;
  secret: string;
  description: string | null;
  created_by: string;
  created_at: CreatedAt;
  deleted_at: Date | null;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  subscription_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
}

// Sign-in links and browser sessions (migration 0007): only the SHA-256 of each secret is stored.

export interface SignInLinksTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  purpose: 'sign-in' | 'invitation';
  created_by: string | null;
  created_at: CreatedAt;
  expires_at: Date;
  used_at: Date | null;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  user_agent: string | null;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** The absolute end; idle expiry is computed from last_seen_at. */
  expires_at: Date;
  revoked_at: Date | null;
  /** How the session was opened: a lead or admin may be required to use a passkey (migration 0011). */
  authenticated_by: Generated<'email-link' | 'passkey'>;
}

export interface PasskeysTable {
  id: Generated<string>;
  user_id: string;
  credential_id: string;
  public_key: Uint8Array;
  /** bigint: read back as a string. */
  counter: ColumnType<string, number, number>;
  transports: string[];
  name: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
}

export interface PasskeyChallengesTable {
  challenge: string;
  purpose: 'registration' | 'authentication';
  session_id: string | null;
  expires_at: Date;
}

export interface SettingsTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  updated_by: string | null;
}

// An appraiser's review in progress (migration 0010).

export interface ReviewDraftsTable {
  application_id: string;
  appraiser_id: string;
  round: number;
  body: JSONColumnType<ReviewDraftBody, string, string>;
  updated_at: UpdatedAt;
}

export type ReviewDraftBody = {
  criteria: Record<string, { judgement: 'met' | 'not_yet' | null; comment: string }>;
  summary: string;
};
