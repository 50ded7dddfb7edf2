import { listAwards } from '../awards/service.ts';
import type { Db } from '../db/index.ts';
import { isMemberOfOrganisation } from '../domain/access.ts';
import type { Principal } from '../domain/principal.ts';
import { selectOrganisations } from '../organisations/repository.ts';
import { getVisibleOrganisation, toOrganisationView } from '../organisations/service.ts';
import { areasNamed } from '../users/repository.ts';
import type { ApplicationView } from './schemas.ts';
import { listApplications } from './service.ts';

/**
 * What the people's pages show of the applying side (SPEC §9, schools), built on the services the API
 * calls, so the pages read exactly what the API would let the same person read.
 */

/** Application states in which nothing more will happen. */
export const FINAL_STATES: readonly string[] = ['awarded', 'notAwarded', 'withdrawn', 'lapsed'];

/** What the home page shows a signed-in person: their roles and, for each organisation, where it stands. */
export type Home = {
  isAdmin: boolean;
  isAppraiser: boolean;
  leadAreas: string[];
  organisations: HomeOrganisation[];
};

export type HomeOrganisation = {
  id: string;
  name: string;
  stream: string;
  /** The stream's name in Welsh, when known. */
  streamCy: string | null;
  area: string;
  pledge: { signatoryName: string; signatoryRole: string; signedAt: Date } | null;
  /** The open application, if any (at most one per organisation and stream). */
  open: { id: string; state: string; status: string; kind: string; updatedAt: Date } | null;
  /** Earlier applications that ended, newest first. */
  ended: { id: string; state: string; kind: string; updatedAt: Date }[];
  /** The current award (on the register), if any. */
  award: { id: string; state: string; awardedAt: Date; expiresAt: Date; renewalDueAt: Date | null } | null;
};

export async function homeFor(db: Db, p: Principal): Promise<Home> {
  const [rows, leadAreas] = await Promise.all([
    p.memberOrganisationIds.length
      ? selectOrganisations(db)
          .innerJoin('streams', 'streams.id', 'organisations.stream_id')
          .innerJoin('areas', 'areas.id', 'organisations.area_id')
          .select([
            'streams.name as stream_name',
            'streams.name_cy as stream_name_cy',
            'areas.name as area_name',
          ])
          .where('organisations.id', 'in', p.memberOrganisationIds)
          .orderBy('organisations.name')
          .execute()
      : [],
    areasNamed(db, p.leadAreaIds).then((areas) => areas.map((a) => a.name)),
  ]);
  const organisations = await Promise.all(
    rows.map(async (o): Promise<HomeOrganisation> => {
      const [applications, awards] = await Promise.all([
        listApplications(db, p, { organisationId: o.id, limit: 20 }),
        listAwards(db, p, { organisationId: o.id, current: 'true', limit: 1 }),
      ]);
      const open = applications.items.find((a) => !FINAL_STATES.includes(a.status));
      const award = awards.items[0];
      return {
        id: o.id,
        name: o.name,
        stream: o.stream_name,
        streamCy: o.stream_name_cy,
        area: o.area_name,
        pledge: o.pledge
          ? {
              signatoryName: o.pledge.signatory_name,
              signatoryRole: o.pledge.signatory_role,
              signedAt: new Date(o.pledge.signed_at),
            }
          : null,
        open: open
          ? {
              id: open.id,
              state: open.state,
              status: open.status,
              kind: open.kind,
              updatedAt: new Date(open.updatedAt),
            }
          : null,
        ended: applications.items
          .filter((a) => a !== open)
          .map((a) => ({ id: a.id, state: a.state, kind: a.kind, updatedAt: new Date(a.updatedAt) })),
        award: award
          ? {
              id: award.id,
              state: award.state,
              awardedAt: new Date(award.awardedAt),
              expiresAt: new Date(award.expiresAt),
              renewalDueAt: award.renewalDueAt ? new Date(award.renewalDueAt) : null,
            }
          : null,
      };
    }),
  );
  return { isAdmin: p.isAdmin, isAppraiser: p.isAppraiser, leadAreas, organisations };
}

/** One organisation the person may see, as the API shows it (404 outside their scope). */
export async function organisationFor(db: Db, p: Principal, id: string) {
  return toOrganisationView(await getVisibleOrganisation(db, p, id));
}

/**
 * Whether the person acts for the applying organisation (its member): others who may see the
 * application (its area's lead, an admin) read its pages without the organisation's forms.
 */
export const actsForApplicant = (p: Principal, view: Pick<ApplicationView, 'organisationId'>) =>
  isMemberOfOrganisation(p, view.organisationId);

export type TaskStatus = 'notStarted' | 'inProgress' | 'completed';

/** A criterion of an application as a task: completed once it has an answer and at least one file. */
export type CriterionTask = {
  code: string;
  title: string;
  process: string;
  answer: string;
  evidenceCount: number;
  status: TaskStatus;
};

export const PROCESSES = ['learn', 'embed', 'share'] as const;

export function criterionTasks(view: ApplicationView): CriterionTask[] {
  return view.criteria.map((c) => {
    const answer = view.answers[c.code] ?? '';
    const evidenceCount = view.evidenceCounts[c.code] ?? 0;
    const answered = answer.trim() !== '';
    return {
      code: c.code,
      title: c.title,
      process: c.process,
      answer,
      evidenceCount,
      status:
        answered && evidenceCount > 0
          ? 'completed'
          : answered || evidenceCount > 0
            ? 'inProgress'
            : 'notStarted',
    };
  });
}

/** The tasks grouped by process, in the order Learn, Embed, Share. */
export function tasksByProcess(view: ApplicationView) {
  const tasks = criterionTasks(view);
  return PROCESSES.map((process) => ({ process, tasks: tasks.filter((t) => t.process === process) })).filter(
    (g) => g.tasks.length > 0,
  );
}
