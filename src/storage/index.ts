import type { Config } from '../config.ts';
import { LocalEvidenceStore, removeAbandonedTempFiles } from './local.ts';
import type { EvidenceStore } from './store.ts';

export type { EvidenceStore } from './store.ts';

/** The configured evidence store, with what a previous life left half-written cleaned up. */
export async function createEvidenceStore(config: Pick<Config, 'evidenceDir'>): Promise<EvidenceStore> {
  await removeAbandonedTempFiles(config.evidenceDir);
  return new LocalEvidenceStore(config.evidenceDir);
}
