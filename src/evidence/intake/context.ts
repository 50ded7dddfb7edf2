import { applicationStateString, canAddEvidence } from '../../../workflows/index.ts';
import { type ApplicationAccess, loadApplicationAccess } from '../../applications/repository.ts';
import { DomainError, forbidden } from '../../domain/errors.ts';
import type { Principal } from '../../domain/principal.ts';
import type { PendingObject } from '../../storage/store.ts';
import type { EvidenceDeps } from '../deps.ts';
import { heldBytes } from '../repository.ts';

/**
 * An upload under way, whichever door it came through: who adds evidence to which application, what
 * it has received so far against the application's byte limit, and the pending objects it began.
 */
export type Intake = {
  deps: EvidenceDeps;
  actor: Principal;
  applicationId: string;
  criteriaSetId: string;
  /** The application's criterion codes: what files can be filed under. */
  criteriaCodes: readonly string[];
  /** Bytes the application held when the upload began. */
  bytesBefore: number;
  /** The same plus the files received so far: each next file may only fill what is left. */
  bytesSoFar: number;
  /** Every pending object begun for this upload; `discardLeftovers` removes those not committed. */
  pending: PendingObject[];
  /** The resumable upload being filed, whose own reservation does not count against it. */
  ownReservation?: string;
};

/** The caller is a member of the applying organisation, and the application takes evidence in its state. */
export function assertMayAddEvidence(access: ApplicationAccess) {
  if (!access.relations.has('applicant')) {
    throw forbidden('Only members of the applying organisation upload evidence');
  }
  if (!canAddEvidence(access.snapshot)) {
    throw new DomainError(
      'illegal-transition',
      `Evidence cannot be added while the application is ${applicationStateString(access.snapshot)}`,
    );
  }
}

/**
 * Authorises an upload and reserves its context: loads the application (not-found out of scope),
 * checks the caller may add evidence now, and notes the bytes it already holds. A door calls this
 * before reading a byte of the body. The check is made again under the row lock when the files are
 * recorded.
 */
export async function startIntake(
  deps: EvidenceDeps,
  p: Principal,
  applicationId: string,
  ownReservation?: string,
): Promise<Intake> {
  const access = await loadApplicationAccess(deps.db, p, applicationId);
  assertMayAddEvidence(access);
  const bytesBefore = await heldBytes(deps.db, applicationId, ownReservation);
  return {
    deps,
    actor: p,
    applicationId,
    criteriaSetId: access.application.criteria_set_id,
    criteriaCodes: access.snapshot.context.criteriaCodes,
    bytesBefore,
    bytesSoFar: bytesBefore,
    pending: [],
    ownReservation,
  };
}

/**
 * Removes whatever the upload left half-done: every pending object not committed (after a failure,
 * or one whose bytes the application already had). Run whatever happened; a failure is only logged
 * (the store's sweep of abandoned temporary objects takes what is left).
 */
export async function discardLeftovers(intake: Intake): Promise<void> {
  const { log } = intake.deps;
  await Promise.all(
    intake.pending.map((o) =>
      o.discard().catch((e) => log?.warn({ err: e }, 'could not remove a temporary evidence object')),
    ),
  );
}
