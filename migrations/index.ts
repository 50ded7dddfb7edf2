import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_applications.ts';
import * as m0003 from './0003_evidence_retention.ts';
import * as m0004 from './0004_timers_outbox.ts';
import * as m0005 from './0005_reporting.ts';
import * as m0006 from './0006_dashboard_summaries.ts';
import * as m0007 from './0007_sign_in.ts';
import * as m0008 from './0008_credentials.ts';
import * as m0009 from './0009_view_validators.ts';
import * as m0010 from './0010_review_drafts.ts';
import * as m0011 from './0011_passkeys.ts';
import * as m0012 from './0012_evidence_location_previews.ts';
import * as m0013 from './0013_resumable_uploads.ts';
import * as m0017 from './0017_welsh_names.ts';
import * as m0018 from './0018_notification_events.ts';

/**
 * Every migration, imported statically so they run the same under Node, Jest and PGlite
 * (no directory scanning). Add a new file and list it here; names sort in order.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_applications': m0002,
  '0003_evidence_retention': m0003,
  '0004_timers_outbox': m0004,
  '0005_reporting': m0005,
  '0006_dashboard_summaries': m0006,
  '0007_sign_in': m0007,
  '0008_credentials': m0008,
  '0009_view_validators': m0009,
  '0010_review_drafts': m0010,
  '0011_passkeys': m0011,
  '0012_evidence_location_previews': m0012,
  '0013_resumable_uploads': m0013,
  '0017_welsh_names': m0017,
  '0018_notification_events': m0018,
};
