import { sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { Locale } from '../db/schema.ts';
import type { PageLinks } from '../notifications/links.ts';
import { digestMessage, type ReminderFacts, reminderLine, renderBodies } from '../notifications/messages.ts';
import { audienceMembers } from '../notifications/recipients.ts';

export type ReminderSummary = { created: number; digests: number };

const DAY_MS = 86_400_000;

type Candidate = {
  userId: string;
  entity: 'application' | 'award';
  entityId: string;
  dedupeKey: string;
  facts: ReminderFacts;
};

/**
 * The reminders due at `now` (SPEC §2, §5's overdue work), each recorded once per person and occasion
 * (`reminders_once`), then gathered into at most one digest e-mail per person per day. A reminder's
 * line is written in its person's language when it is recorded; the digest links to the home page.
 */
export async function runReminders(
  db: Db,
  settings: Config['reminders'],
  now: Date,
  options: { links: PageLinks; log?: (msg: string, data: object) => void },
): Promise<ReminderSummary> {
  const { links, log } = options;
  const candidates: Candidate[] = [];
  const ago = (days: number) => new Date(now.getTime() - days * DAY_MS);

  // Reviews outstanding N days after the round's reviews opened (START_REVIEW, or RESUBMIT for a new round).
  const reviewing = await db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select((eb) => [
      'applications.id',
      'applications.round',
      'applications.snapshot',
      'organisations.name',
      eb
        .selectFrom('application_events')
        .select((e) => e.fn.max('at').as('at'))
        .whereRef('application_events.application_id', '=', 'applications.id')
        .where('type', 'in', ['START_REVIEW', 'RESUBMIT'])
        .as('opened_at'),
    ])
    .where('applications.state', '=', 'appraisal.reviewing')
    .execute();
  for (const a of reviewing) {
    if (!a.opened_at || new Date(a.opened_at as Date) > ago(settings.reviewDays)) continue;
    const context = (a.snapshot as { context: { panel: string[]; reviewedBy: string[] } }).context;
    for (const userId of context.panel.filter((u) => !context.reviewedBy.includes(u))) {
      candidates.push({
        userId,
        entity: 'application',
        entityId: a.id,
        dedupeKey: `round-${a.round}`,
        facts: {
          kind: 'review-outstanding',
          organisationName: a.name,
          round: a.round,
          openedAt: new Date(a.opened_at as Date),
        },
      });
    }
  }

  // Submissions not accepted after N days: the area's leads (admins on the national route).
  const submitted = await db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select((eb) => [
      'applications.id',
      'applications.organisation_id',
      'organisations.area_id',
      'organisations.name',
      eb
        .selectFrom('application_events')
        .select((e) => e.fn.max('at').as('at'))
        .whereRef('application_events.application_id', '=', 'applications.id')
        .where('type', '=', 'SUBMIT')
        .as('submitted_at'),
    ])
    .where('applications.status', '=', 'submitted')
    .execute();
  for (const a of submitted) {
    if (!a.submitted_at || new Date(a.submitted_at as Date) > ago(settings.submissionDays)) continue;
    const submittedAt = new Date(a.submitted_at as Date);
    for (const lead of await audienceMembers(db, 'leads', {
      organisationId: a.organisation_id,
      areaId: a.area_id,
      panel: [],
    })) {
      candidates.push({
        userId: lead.id,
        entity: 'application',
        entityId: a.id,
        dedupeKey: submittedAt.toISOString(),
        facts: { kind: 'submission-not-accepted', organisationName: a.name, submittedAt },
      });
    }
  }

  // Further evidence due within N days: the organisation's members.
  const awaitingEvidence = await db
    .selectFrom('applications')
    .innerJoin('organisations', 'organisations.id', 'applications.organisation_id')
    .select([
      'applications.id',
      'applications.organisation_id',
      'organisations.area_id',
      'organisations.name',
      sql<string | null>`snapshot->'context'->'decision'->>'dueBy'`.as('due_by'),
    ])
    .where('applications.status', '=', 'furtherEvidenceRequested')
    .execute();
  for (const a of awaitingEvidence) {
    if (!a.due_by) continue;
    const dueBy = new Date(a.due_by);
    if (dueBy <= now || dueBy.getTime() - now.getTime() > settings.evidenceDays * DAY_MS) continue;
    for (const member of await audienceMembers(db, 'applicants', {
      organisationId: a.organisation_id,
      areaId: a.area_id,
      panel: [],
    })) {
      candidates.push({
        userId: member.id,
        entity: 'application',
        entityId: a.id,
        dedupeKey: dueBy.toISOString(),
        facts: { kind: 'further-evidence-due', organisationName: a.name, dueBy },
      });
    }
  }

  // Renewal due and not started within N days of expiry: the organisation's members and its leads.
  const renewalDue = await db
    .selectFrom('awards')
    .innerJoin('organisations', 'organisations.id', 'awards.organisation_id')
    .select([
      'awards.id',
      'awards.organisation_id',
      'awards.expires_at',
      'organisations.area_id',
      'organisations.name',
    ])
    .where('awards.state', '=', 'renewalDue')
    .where('awards.expires_at', '>', now)
    .where('awards.expires_at', '<=', new Date(now.getTime() + settings.renewalDays * DAY_MS))
    .execute();
  for (const a of renewalDue) {
    const scope = { organisationId: a.organisation_id, areaId: a.area_id, panel: [] };
    const people = [
      ...(await audienceMembers(db, 'applicants', scope)),
      ...(await audienceMembers(db, 'leads', scope)),
    ];
    for (const person of people) {
      candidates.push({
        userId: person.id,
        entity: 'award',
        entityId: a.id,
        dedupeKey: new Date(a.expires_at).toISOString(),
        facts: { kind: 'renewal-due', organisationName: a.name, expiresAt: new Date(a.expires_at) },
      });
    }
  }

  const localeOf = await localesOf(
    db,
    candidates.map((c) => c.userId),
  );
  let created = 0;
  for (const c of candidates) {
    const inserted = await db
      .insertInto('reminders')
      .values({
        kind: c.facts.kind,
        user_id: c.userId,
        entity: c.entity,
        entity_id: c.entityId,
        dedupe_key: c.dedupeKey,
        summary: reminderLine(localeOf.get(c.userId) ?? null, c.facts),
        created_at: now,
      })
      .onConflict((oc) => oc.constraint('reminders_once').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) {
      created++;
      log?.('reminder', { kind: c.facts.kind, userId: c.userId, entity: c.entity, entityId: c.entityId });
    }
  }
  return { created, digests: await sendDigests(db, now, links) };
}

/** The language each of these people reads (null: not chosen). */
async function localesOf(db: Db, userIds: string[]): Promise<Map<string, Locale | null>> {
  const ids = [...new Set(userIds)];
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('users').select(['id', 'locale']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.locale]));
}

/** One digest notification per person per day with every reminder not yet sent; later ones wait for tomorrow. */
async function sendDigests(db: Db, now: Date, links: PageLinks): Promise<number> {
  const digestDay = now.toISOString().slice(0, 10);
  const waiting = await db
    .selectFrom('reminders')
    .innerJoin('users', 'users.id', 'reminders.user_id')
    .select([
      'reminders.id',
      'reminders.user_id',
      'reminders.summary',
      'users.email',
      'users.name',
      'users.locale',
    ])
    .where('reminders.digest_id', 'is', null)
    .orderBy('reminders.created_at')
    .execute();
  const byUser = new Map<string, typeof waiting>();
  for (const r of waiting) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r]);
  let digests = 0;
  for (const [userId, items] of byUser) {
    const done = await db.transaction().execute(async (trx) => {
      const { locale } = items[0];
      const message = digestMessage(
        locale,
        items.map((i) => i.summary),
        links.home(),
      );
      const bodies = renderBodies(locale, items[0].name, message);
      const digest = await trx
        .insertInto('notifications')
        .values({
          user_id: userId,
          kind: 'digest',
          event_type: 'reminder.digest',
          subject: message.subject,
          body_text: bodies.text,
          body_html: bodies.html,
          email_to: items[0].email,
          digest_day: digestDay,
          next_attempt_at: now,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['user_id', 'digest_day']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!digest) return false;
      await trx
        .updateTable('reminders')
        .set({ digest_id: digest.id })
        .where(
          'id',
          'in',
          items.map((i) => i.id),
        )
        .where('digest_id', 'is', null)
        .execute();
      return true;
    });
    if (done) digests++;
  }
  return digests;
}
