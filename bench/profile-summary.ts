import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ROOT } from './lib.ts';

/**
 * `node bench/profile-summary.ts [file.cpuprofile …]`: where a CPU profile's time went (by default the
 * newest profile in bench/profiles/, which `BENCH_CPU_PROF=1 npm run bench` writes). Prints the busy
 * share of the run, self time per package or source file (node_modules/<package>, src/…, Node's own
 * internals, garbage collection) and the functions with the most self time. Idle time is the process
 * waiting on the network and the database.
 */

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

function where(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (modules) return modules[1];
  if (path.startsWith('node:')) return 'node (internals)';
  const local = relative(ROOT, path);
  return local.startsWith('..') ? path : local;
}

async function newestProfile(): Promise<string> {
  const dir = join(ROOT, 'bench', 'profiles');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) throw new Error('no profile in bench/profiles: run with BENCH_CPU_PROF=1');
  const dated = await Promise.all(files.map(async (f) => ({ f, at: (await stat(join(dir, f))).mtimeMs })));
  return join(dir, dated.sort((a, b) => b.at - a.at)[0].f);
}

const files = process.argv.slice(2);
for (const file of files.length ? files : [await newestProfile()]) {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = profile.endTime - profile.startTime;
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = (byId.get(id) as Node).callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const place =
      functionName === '(garbage collector)'
        ? '(garbage collection)'
        : functionName === '(program)'
          ? '(program: V8, compiled code outside functions)'
          : where(url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'}  ${place}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(
    `\n${relative(ROOT, file)}: ${(total / 1e6).toFixed(1)} s profiled, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%); shares of busy time:`,
  );
  console.log('\nby package or file (self time)');
  for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`  ${pct(us)}  ${place}`);
  console.log('\nfunctions (self time)');
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`  ${pct(us)}  ${fn}`);
}
