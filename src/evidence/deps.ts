import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { EvidenceStore } from '../storage/store.ts';

/** What the evidence services work with, whichever door calls them. */
export type EvidenceDeps = {
  db: Db;
  store: EvidenceStore;
  limits: Config['limits'];
  zipLimits: Config['zipLimits'];
  /** Whether location data is removed from photos and videos as they are stored. */
  stripLocation: boolean;
  /** A local directory for scratch files (a zip archive is spooled there while it is unpacked). */
  scratchDir: string;
  /** Where failures that must not fail the request (a leftover file) are reported. */
  log?: { warn: (details: object, message: string) => void };
};

/** The evidence services' dependencies from the configuration, for one request's log. */
export function evidenceDeps(
  db: Db,
  store: EvidenceStore,
  config: Pick<Config, 'limits' | 'zipLimits' | 'evidenceDir' | 'stripLocation'>,
  log?: EvidenceDeps['log'],
): EvidenceDeps {
  return {
    db,
    store,
    limits: config.limits,
    zipLimits: config.zipLimits,
    stripLocation: config.stripLocation,
    scratchDir: config.evidenceDir,
    log,
  };
}
