import { type SelectQueryBuilder, sql } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import type { Database, Locale } from '../db/schema.ts';
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

type Members = SelectQueryBuilder<Database, 'users', Recipient & { audience: Audience }>;

/**
 * The people of one audience: the organisation's applicant members; the area's leads, or the admins
 * where the area has no lead (the national route); the panel; the user an event is about.
 */
function membersOf(db: DbOrTrx, audience: Audience, scope: AudienceScope): Members | null {
  const users = db
    .selectFrom('users')
    .select([...COLUMNS, sql.lit(audience).as('audience')]) as unknown as Members;
  const holding = (role: 'applicant' | 'lead' | 'admin') =>
    users.where((eb) =>
      eb.exists(
        eb
          .selectFrom('grants')
          .whereRef('grants.user_id', '=', 'users.id')
          .where('grants.role', '=', role)
          .$if(role === 'applicant', (q) => q.where('grants.organisation_id', '=', scope.organisationId))
          .$if(role === 'lead', (q) => q.where('grants.area_id', '=', scope.areaId)),
      ),
    );
  switch (audience) {
    case 'applicants':
      return holding('applicant');
    case 'leads':
      return holding('lead').unionAll(
        holding('admin').where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('grants')
                .where('grants.role', '=', 'lead')
                .where('grants.area_id', '=', scope.areaId),
            ),
          ),
        ),
      ) as Members;
    case 'panel':
      return scope.panel.length ? users.where('users.id', 'in', scope.panel) : null;
    case 'subject':
      return scope.subjectUserId ? users.where('users.id', '=', scope.subjectUserId) : null;
  }
}

/** The people of one audience (see membersOf). */
export async function audienceMembers(
  db: DbOrTrx,
  audience: Audience,
  scope: AudienceScope,
): Promise<Recipient[]> {
  return (await audiencesMembers(db, [audience], scope)).get(audience) ?? [];
}

/**
 * The people of several audiences, read in one statement (a transition tells up to four audiences, and
 * each statement is a round trip inside its transaction).
 */
export async function audiencesMembers(
  db: DbOrTrx,
  audiences: readonly Audience[],
  scope: AudienceScope,
): Promise<Map<Audience, Recipient[]>> {
  const queries = audiences.flatMap((a) => membersOf(db, a, scope) ?? []);
  const found = new Map<Audience, Recipient[]>(audiences.map((a) => [a, []]));
  if (queries.length === 0) return found;
  const [first, ...rest] = queries;
  const rows = await rest.reduce((all, q) => all.unionAll(q) as Members, first).execute();
  for (const { audience, ...person } of rows) found.get(audience)?.push(person);
  return found;
}
