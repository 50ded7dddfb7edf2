import type { Config } from '../config.ts';
import { LocalEvidenceStore, removeAbandonedTempFiles } from './local.ts';
import type { EvidenceStore } from './store.ts';

export type { EvidenceStore } from './store.ts';

/**
 * The configured evidence store (STORAGE=local|s3), with what a previous life left half-written
 * cleaned up. An S3 bucket that does not exist yet is created.
 */
export async function createEvidenceStore(
  config: Pick<Config, 'evidenceDir' | 'storage'>,
): Promise<EvidenceStore> {
  let store: EvidenceStore;
  if (config.storage.kind === 's3') {
    // Loaded only when configured: the S3 SDK is a tenth of a second of every start otherwise.
    const { S3EvidenceStore } = await import('./s3.ts');
    const s3 = new S3EvidenceStore(config.storage);
    await s3.ensureBucket();
    store = s3;
    // The evidence directory still holds scratch files (zip archives being unpacked).
    await removeAbandonedTempFiles(config.evidenceDir);
  } else {
    store = new LocalEvidenceStore(config.evidenceDir);
  }
  await store.removeAbandonedTemp();
  return store;
}
