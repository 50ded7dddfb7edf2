import { type Compilable, CompiledQuery } from 'kysely';
import type { DbOrTrx } from './index.ts';

const STAND_IN = '\u0000value:';

/**
 * A statement built and compiled by Kysely once, then run again and again with other values. On the
 * hottest paths (an application's view and a transition's lock) building and compiling the same
 * statement for every request cost more than running it (see bench/README.md). `build` names each
 * value that changes from run to run with `value(name)`; every other parameter stays as built.
 */
export function precompiled<Row, Name extends string>(
  build: (db: DbOrTrx, value: (name: Name) => string) => Compilable<Row>,
) {
  let compiled: { sql: string; parameters: readonly unknown[]; slots: (Name | undefined)[] } | undefined;
  const compile = (db: DbOrTrx) => {
    const query = build(db, (name) => `${STAND_IN}${name}`).compile();
    const slots = query.parameters.map((p) =>
      typeof p === 'string' && p.startsWith(STAND_IN) ? (p.slice(STAND_IN.length) as Name) : undefined,
    );
    return { sql: query.sql, parameters: query.parameters, slots };
  };
  return async (db: DbOrTrx, values: Record<Name, unknown>): Promise<Row[]> => {
    compiled ??= compile(db);
    const { sql, parameters, slots } = compiled;
    const bound = parameters.map((p, i) => {
      const slot = slots[i];
      return slot === undefined ? p : values[slot];
    });
    return (await db.executeQuery<Row>(CompiledQuery.raw(sql, bound))).rows;
  };
}

/** Named groups of values a statement is built from: rows to insert, columns to set; null for none. */
export type StatementParts = Record<string, Record<string, unknown> | null>;

type Compiled = { sql: string; parameters: readonly unknown[]; slots: ([string, string] | undefined)[] };

/** Statements of one builder kept per shape; past this many shapes, a new one is compiled each time. */
const MAX_SHAPES = 64;

/**
 * A statement built from groups of values (a history line, the columns a transition sets, outbox
 * rows), compiled once per shape: which groups are present and which keys each one has. `build` gets
 * the groups with every value replaced by a stand-in, so the SQL is exactly what it would build from
 * the values themselves (a key whose value is undefined is left out, as Kysely leaves it out); each
 * run binds the real values. For the statement that saves a transition, building and compiling cost
 * more of the service's time than anything else it did for the request (bench/README.md).
 */
export function compiledPerShape<Parts extends StatementParts, Row = unknown>(
  build: (db: DbOrTrx, parts: Parts) => Compilable<Row>,
) {
  const shapes = new Map<string, Compiled>();
  const compile = (db: DbOrTrx, parts: Parts): Compiled => {
    const standIns: StatementParts = {};
    for (const [group, values] of Object.entries(parts)) {
      standIns[group] = values
        ? Object.fromEntries(
            Object.entries(values)
              .filter(([, v]) => v !== undefined)
              .map(([key]) => [key, `${STAND_IN}${group}\u0001${key}`]),
          )
        : null;
    }
    const query = build(db, standIns as Parts).compile();
    const slots = query.parameters.map((p) => {
      if (typeof p !== 'string' || !p.startsWith(STAND_IN)) return undefined;
      const [group, key] = p.slice(STAND_IN.length).split('\u0001');
      return [group, key] as [string, string];
    });
    return { sql: query.sql, parameters: query.parameters, slots };
  };
  return async (db: DbOrTrx, parts: Parts): Promise<Row[]> => {
    let shape = '';
    for (const [group, values] of Object.entries(parts)) {
      shape += `${group}(`;
      if (values) for (const key in values) if (values[key] !== undefined) shape += `${key},`;
      shape += values ? ')' : '-)';
    }
    let compiled = shapes.get(shape);
    if (!compiled) {
      compiled = compile(db, parts);
      if (shapes.size < MAX_SHAPES) shapes.set(shape, compiled);
    }
    const { sql, parameters, slots } = compiled;
    const bound = parameters.map((p, i) => {
      const slot = slots[i];
      return slot === undefined ? p : (parts[slot[0]] as Record<string, unknown>)[slot[1]];
    });
    return (await db.executeQuery<Row>(CompiledQuery.raw(sql, bound))).rows;
  };
}
