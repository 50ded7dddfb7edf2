import { eventsBench } from './events.ts';
import { readBench } from './read.ts';
import { reportsBench } from './reports.ts';
import { startupBench } from './startup.ts';
import type { BenchModule } from './types.ts';
import { uploadBench } from './upload.ts';

/** Every bench module `npm run bench` runs, in order. Add one line per module. */
export const benchModules: BenchModule[] = [eventsBench, readBench, startupBench, reportsBench, uploadBench];
