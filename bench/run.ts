import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchModules } from './index.ts';
import { ROOT } from './lib.ts';
import type { BenchOptions, BenchResult } from './types.ts';

/**
 * `npm run bench [-- --quick]`: runs every module of bench/index.ts against the Postgres server in
 * DATABASE_URL (each module makes its own database), writes bench/results.json and prints a table.
 * A missed target is reported, not an error: the exit code is 0 unless a bench itself failed to run.
 */
const quick = process.argv.includes('--quick');
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const numberArg = (name: string) => {
  const value = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return value ? Number(value) : undefined;
};
const options: BenchOptions = {
  quick,
  databaseUrl,
  rounds: numberArg('rounds'),
  seconds: numberArg('seconds'),
};
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');

const startedAt = Date.now();
const results: Record<string, Omit<BenchResult, 'name'>> = {};
const failures: string[] = [];
console.log(
  `Sanctuary Awards bench${quick ? ' (quick)' : ''}: Postgres at ${new URL(databaseUrl).host}, Node ${process.version}\n`,
);

for (const module of benchModules) {
  if (only && !only.some((o) => module.title.toLowerCase().includes(o.toLowerCase()))) continue;
  const t0 = Date.now();
  process.stdout.write(`• ${module.title} … `);
  try {
    for (const { name, ...rest } of await module.run(options)) results[name] = rest;
    console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.log('FAILED');
    console.error(err);
    failures.push(module.title);
  }
}

await writeFile(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const rows = Object.entries(results).map(([name, r]) => [
  name,
  `${r.value} ${r.unit}`,
  r.baseline === null ? '—' : `${r.baseline} ${r.unit}`,
  r.ratio === null ? '—' : String(r.ratio),
  r.target,
  r.pass ? 'pass' : 'MISS',
]);
const head = ['benchmark', 'value', 'baseline', 'ratio', 'target', ''];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const r of rows) console.log(line(r));
for (const [name, r] of Object.entries(results)) if (r.notes) console.log(`\n${name}: ${r.notes}`);

const missed = Object.entries(results)
  .filter(([, r]) => !r.pass)
  .map(([n]) => n);
console.log(`\nbench/results.json written in ${((Date.now() - startedAt) / 1000).toFixed(0)} s.`);
console.log(missed.length ? `Targets missed: ${missed.join(', ')}` : 'Every target met.');
if (failures.length) {
  console.log(`Benches that failed to run: ${failures.join(', ')}`);
  process.exitCode = 1;
}
