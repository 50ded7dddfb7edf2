import type { AnyStateMachine } from 'xstate';
import { acceptedEventTypes, stateString } from '../../workflows/index.ts';

type StateNodeLike = { key: string; states?: Record<string, StateNodeLike> };

/**
 * The states (as stored: `draft`, `appraisal.panelForming` …) in which the machine accepts each event
 * type, guards aside: worked out once from the machine, so SQL can read a guard's facts only where
 * that guard can be asked.
 */
export function statesAccepting(machine: AnyStateMachine): Map<string, string[]> {
  const leaves: string[][] = [];
  const walk = (node: StateNodeLike, path: string[]) => {
    const children = Object.values(node.states ?? {});
    if (children.length === 0) leaves.push(path);
    for (const child of children) walk(child, [...path, child.key]);
  };
  walk(machine.root as unknown as StateNodeLike, []);
  const accepting = new Map<string, string[]>();
  for (const path of leaves) {
    const value = path.reduceRight<unknown>(
      (inner, key) => (inner === undefined ? key : { [key]: inner }),
      undefined,
    );
    const snapshot = machine.resolveState({ value: value as never, context: {} });
    for (const type of acceptedEventTypes(snapshot)) {
      accepting.set(type, [...(accepting.get(type) ?? []), stateString(snapshot)]);
    }
  }
  return accepting;
}
