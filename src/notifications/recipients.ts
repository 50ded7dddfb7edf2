import type { DbOrTrx } from '../db/index.ts';
import type { Locale } from '../db/schema.ts';
import type { Audience } from './messages.ts';

/** Someone to notify, with the language their e-mails are written in (null: not chosen, English). */
export type Recipient = { id: string; email: string; name: string; locale: Locale | null };

export type AudienceScope = {
  organisationId: string;
  areaId: string;
  /** Panel members before and after the event (a withdrawal still tells the panel it had). */
  panel: string[];
  /** The user the event is about (ASSIGN_APPRAISER's userId). */
  subjectUserId?: string;
};

const COLUMNS = ['users.id', 'users.email', 'users.name', 'users.locale'] as const;

/**
 * The people of one audience: the organisation's applicant members; the area's leads, or the admins
 * where the area has no lead (the national route); the panel; the user an event is about.
 */
export async function audienceMembers(
  db: DbOrTrx,
  audience: Audience,
  scope: AudienceScope,
): Promise<Recipient[]> {
  const users = db
    .selectFrom('users')
    .innerJoin('grants', 'grants.user_id', 'users.id')
    .select(COLUMNS)
    .distinct();
  switch (audience) {
    case 'applicants':
      return users
        .where('grants.role', '=', 'applicant')
        .where('grants.organisation_id', '=', scope.organisationId)
        .execute();
    case 'leads': {
      const leads = await users
        .where('grants.role', '=', 'lead')
        .where('grants.area_id', '=', scope.areaId)
        .execute();
      return leads.length ? leads : users.where('grants.role', '=', 'admin').execute();
    }
    case 'panel':
      return scope.panel.length
        ? db.selectFrom('users').select(COLUMNS).where('users.id', 'in', scope.panel).execute()
        : [];
    case 'subject':
      return scope.subjectUserId
        ? db.selectFrom('users').select(COLUMNS).where('users.id', '=', scope.subjectUserId).execute()
        : [];
  }
}
