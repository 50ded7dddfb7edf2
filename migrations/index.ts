import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_applications.ts';

/**
 * Every migration, imported statically so they run the same under Node, Jest and PGlite
 * (no directory scanning). Add a new file and list it here; names sort in order.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_applications': m0002,
};
