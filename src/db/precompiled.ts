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
