import { type QueryCreator, sql } from 'kysely';
import type { DbOrTrx } from '../db/index.ts';
import { compiledPerShape } from '../db/precompiled.ts';
import type { Database } from '../db/schema.ts';
import { webhookDeliveries } from '../webhooks/outbox.ts';
import type { OutboxRows } from './types.ts';

/**
 * The statement that saves a transition: the new state (only if the row is still at the version the
 * transition was decided on), and, only if it was saved, its history line, its notification event and
 * its webhook deliveries, as data-modifying CTEs. One round trip, and all or nothing: it answers the
 * saved row's id, or nothing when someone else's event came first.
 */
type SaveParts = OutboxRows & {
  /** The history line's columns. */
  line: Record<string, unknown>;
  /** The columns the transition sets on the workflow's row. */
  set: Record<string, unknown>;
  /** The row, and the version the transition was decided on. */
  where: { id: string; version: number };
};

// The rows are inserted by INSERT … SELECT … FROM saved, where Postgres cannot take a parameter's type
// from its column: each value is cast to its column's type.
const COLUMN_TYPES: Record<string, string> = {
  application_id: 'uuid',
  award_id: 'uuid',
  type: 'text',
  actor_id: 'uuid',
  from_state: 'text',
  to_state: 'text',
  payload: 'jsonb',
  snapshot: 'jsonb',
  version: 'int4',
  at: 'timestamptz',
  entity: 'text',
  entity_id: 'uuid',
  event_type: 'text',
  audiences: 'text[]',
  scope: 'text',
  message: 'text',
  created_at: 'timestamptz',
};

/**
 * Inserts `row` into `table` once for each saved row (once, or not at all); the `fromSaved` columns
 * take the saved row's value (its snapshot: sent and parsed once, not twice).
 */
function insertIfSaved(
  db: QueryCreator<Database>,
  table: string,
  row: Record<string, unknown>,
  fromSaved: readonly string[] = [],
) {
  const columns = Object.keys(row).filter(
    (column) => row[column] !== undefined && !fromSaved.includes(column),
  );
  return db
    .insertInto(table as 'application_events')
    .columns([...columns, ...fromSaved] as never)
    .expression((eb) =>
      eb.selectFrom('saved' as never).select([
        ...columns.map((column) => {
          const type = COLUMN_TYPES[column];
          if (!type) throw new Error(`No column type known for ${table}.${column}`);
          return sql`cast(${row[column]} as ${sql.raw(type)})`.as(column);
        }),
        ...fromSaved.map((column) => sql.ref(`saved.${column}`).as(column)),
      ] as never),
    );
}

function saveStatement(
  table: 'applications' | 'awards',
  historyTable: 'application_events' | 'award_events',
  /** Columns the history line shares with the row (an application's snapshot). */
  shared: readonly string[],
) {
  return compiledPerShape<SaveParts, { id: string }>((db, parts) => {
    let q = db.with('saved', (c) =>
      c
        .updateTable(table)
        .set(parts.set as never)
        .where('id', '=', parts.where.id)
        .where('version', '=', parts.where.version)
        .returning(['id', ...shared] as never),
    ) as unknown as QueryCreator<Database>;
    q = q.with('line', (c) =>
      insertIfSaved(c, historyTable, parts.line, shared),
    ) as unknown as QueryCreator<Database>;
    const notice = parts.notice;
    if (notice) {
      q = q.with('noticed', (c) =>
        insertIfSaved(c, 'notification_events', notice),
      ) as unknown as QueryCreator<Database>;
    }
    q = q.with('delivered', (c) =>
      webhookDeliveries(c, parts.webhook, sql<boolean>`exists (select from saved)`),
    ) as unknown as QueryCreator<Database>;
    return q.selectFrom('saved' as never).select('saved.id' as never);
  });
}

const statements = {
  application: saveStatement('applications', 'application_events', ['snapshot']),
  award: saveStatement('awards', 'award_events', []),
};

/** Saves a transition (see above); false when the row was no longer at `parts.where.version`. */
export async function saveTransition(
  db: DbOrTrx,
  entity: 'application' | 'award',
  parts: SaveParts,
): Promise<boolean> {
  return (await statements[entity](db, parts)).length === 1;
}
