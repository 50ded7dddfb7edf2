import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import {
  adminTokenFrom,
  api,
  cpuMsOf,
  createBenchDatabase,
  maxResult,
  ROOT,
  ratioResult,
  round,
  spawnChild,
  startService,
} from './lib.ts';
import type { BenchModule, BenchOptions, BenchResult } from './types.ts';

/**
 * SPEC §8: an evidence upload of a 1 GB file through the real service on loopback (multipart parsing,
 * type detection, SHA-256, temp file, fsync, rename, transaction) against piping the same bytes to a
 * file and fsyncing it, with no parsing, in the same run; and the service's RSS growth while it takes the upload.
 * The same file sent resumably (tus, in 64 MiB pieces as a client sends them) is measured beside them.
 */
const MB = 1024 * 1024;

/** The RSS of a process in bytes, from /proc (Linux). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Sends `size` bytes (a multipart body around an MP4-looking file, or raw) and times it. */
function send(
  url: string,
  path: string,
  headers: Record<string, string>,
  parts: { head: Buffer; size: number; tail: Buffer },
  method = 'POST',
) {
  const block = randomBytes(MB);
  return new Promise<{ ms: number; status: number; body: string; headers: IncomingHttpHeaders }>(
    (resolve, reject) => {
      const started = performance.now();
      const target = new URL(path, url);
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method,
          path: target.pathname,
          headers: {
            ...headers,
            'content-length': String(parts.head.length + parts.size + parts.tail.length),
          },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () =>
            resolve({
              ms: performance.now() - started,
              status: res.statusCode ?? 0,
              body,
              headers: res.headers,
            }),
          );
        },
      );
      req.on('error', reject);
      let sent = 0;
      req.write(parts.head);
      const pump = () => {
        while (sent < parts.size) {
          const chunk = block.subarray(0, Math.min(MB, parts.size - sent));
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end(parts.tail);
      };
      pump();
    },
  );
}

async function run(options: BenchOptions): Promise<BenchResult[]> {
  const size = (options.quick ? 128 : 1024) * MB;
  const rounds = options.quick ? 1 : 2;
  const dir = join(ROOT, 'data', `bench-upload-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const database = await createBenchDatabase(options.databaseUrl, 'upload');
  const service = await startService(
    database.url,
    {
      EVIDENCE_DIR: join(dir, 'evidence'),
      MAX_FILE_BYTES: String(2 * 1024 * MB),
      MAX_APPLICATION_BYTES: String(8 * 1024 * MB),
      LOG_LEVEL: 'warn',
    },
    process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [],
  );
  const baseline = await spawnChild(
    'bench/upload-baseline-server.ts',
    { BASELINE_DIR: dir },
    /listening at (http:\/\/\S+)/,
  );
  try {
    const admin = api(service.url, adminTokenFrom(service.output));
    const streams = await admin('GET', '/streams');
    const streamId = streams.items.find((s: { slug: string }) => s.slug === 'schools').id as string;
    const areaId = (await admin('POST', '/areas', { name: 'Upload City', nation: 'england', active: true }))
      .id;
    const orgId = (await admin('POST', '/organisations', { name: 'Upload Primary', streamId, areaId })).id;
    const user = await admin('POST', '/users', {
      email: 'uploader@bench.example',
      name: 'Uploader',
      grants: [{ role: 'applicant', organisationId: orgId }],
    });
    const token = (await admin('POST', `/users/${user.id}/tokens`, {})).token as string;
    const applicant = api(service.url, token);

    const boundary = `----bench${randomBytes(6).toString('hex')}`;
    // An MP4 file type box, then bytes: the service treats it as a video, as the big files are.
    const mp4Header = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
    const multipartParts = (fileSize: number) => ({
      head: Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="criteria"\r\n\r\nL1\r\n` +
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="assembly.mp4"\r\n` +
            'Content-Type: video/mp4\r\n\r\n',
        ),
        mp4Header,
      ]),
      size: fileSize - mp4Header.length,
      tail: Buffer.from(`\r\n--${boundary}--\r\n`),
    });
    const uploadTo = async (applicationId: string, fileSize: number) => {
      const res = await send(
        service.url,
        `/applications/${applicationId}/evidence`,
        { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        multipartParts(fileSize),
      );
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${res.body}`);
      return res.ms;
    };

    /** The same file over tus: creation, then PATCHes of 64 MiB pieces; the last one files it. */
    const TUS_PIECE = 64 * MB;
    const tusUploadTo = async (applicationId: string, fileSize: number) => {
      const started = performance.now();
      const tus = { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' };
      const metadata = `filename ${Buffer.from('assembly.mp4').toString('base64')},criteria ${Buffer.from('L1').toString('base64')}`;
      const created = await send(
        service.url,
        `/applications/${applicationId}/uploads`,
        { ...tus, 'upload-length': String(fileSize), 'upload-metadata': metadata },
        { head: Buffer.alloc(0), size: 0, tail: Buffer.alloc(0) },
      );
      if (created.status !== 201) throw new Error(`tus creation: ${created.status} ${created.body}`);
      const location = String(created.headers.location);
      for (let offset = 0; offset < fileSize; offset += TUS_PIECE) {
        const pieceSize = Math.min(TUS_PIECE, fileSize - offset);
        const head = offset === 0 ? mp4Header : Buffer.alloc(0);
        const res = await send(
          service.url,
          location,
          { ...tus, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
          { head, size: pieceSize - head.length, tail: Buffer.alloc(0) },
          'PATCH',
        );
        const last = offset + pieceSize === fileSize;
        if (res.status !== (last ? 200 : 204)) throw new Error(`tus PATCH: ${res.status} ${res.body}`);
      }
      return performance.now() - started;
    };

    // Warm up both (JIT, first file system use), then measure from the settled RSS.
    const warm = (await applicant('POST', '/applications', { organisationId: orgId })).id as string;
    await uploadTo(warm, 8 * MB);
    await tusUploadTo(warm, 8 * MB + 1);
    await admin('POST', `/applications/${warm}/events`, { type: 'WITHDRAW', reason: 'warm-up done' });
    await send(baseline.url, '/', {}, { head: Buffer.alloc(0), size: 8 * MB, tail: Buffer.alloc(0) });
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = await rssOf(service.process.pid as number);

    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      rssOf(service.process.pid as number).then(
        (rss) => {
          peakRss = Math.max(peakRss, rss);
        },
        () => {},
      );
    }, 50);
    const uploadRates: number[] = [];
    const tusRates: number[] = [];
    const baselineRates: number[] = [];
    // CPU seconds per GB (user + system, all threads, from /proc) of the receiving process, per round.
    const cpu = {
      upload: [] as number[],
      tus: [] as number[],
      baseline: [] as number[],
      hashed: [] as number[],
    };
    const hashedRates: number[] = [];
    const cpuPerGb = async (pid: number, round: () => Promise<unknown>) => {
      const before = cpuMsOf(pid);
      await round();
      return (cpuMsOf(pid) - before) / 1000 / (size / (1024 * MB));
    };
    const servicePid = service.process.pid as number;
    let multipartPeakRss = rssBefore;
    try {
      for (let i = 0; i < rounds; i++) {
        const parts = multipartParts(size);
        const bodySize = parts.head.length + parts.size + parts.tail.length;
        /** One baseline request (`/`, or `/hashed` with SHA-256 on the way): its MB/s, its CPU per GB. */
        const baselineRound = async (path: string) => {
          let ms = 0;
          const cpuPerGbUsed = await cpuPerGb(baseline.process.pid as number, async () => {
            const empty = Buffer.alloc(0);
            ms = (await send(baseline.url, path, {}, { head: empty, size: bodySize, tail: empty })).ms;
          });
          return { rate: size / MB / (ms / 1000), cpu: cpuPerGbUsed };
        };
        const plain = await baselineRound('/');
        baselineRates.push(plain.rate);
        cpu.baseline.push(plain.cpu);
        const hashed = await baselineRound('/hashed');
        hashedRates.push(hashed.rate);
        cpu.hashed.push(hashed.cpu);
        // Each round on its own application, so the upload is never a duplicate of stored bytes.
        const applicationId = (await admin('POST', '/applications', { organisationId: orgId })).id as string;
        let uploadMs = 0;
        cpu.upload.push(
          await cpuPerGb(servicePid, async () => {
            uploadMs = await uploadTo(applicationId, size);
          }),
        );
        uploadRates.push(size / MB / (uploadMs / 1000));
        await admin('POST', `/applications/${applicationId}/events`, {
          type: 'WITHDRAW',
          reason: 'bench round done',
        });
      }
      multipartPeakRss = peakRss;
      for (let i = 0; i < rounds; i++) {
        const applicationId = (await admin('POST', '/applications', { organisationId: orgId })).id as string;
        let tusMs = 0;
        cpu.tus.push(
          await cpuPerGb(servicePid, async () => {
            tusMs = await tusUploadTo(applicationId, size);
          }),
        );
        tusRates.push(size / MB / (tusMs / 1000));
        await admin('POST', `/applications/${applicationId}/events`, {
          type: 'WITHDRAW',
          reason: 'bench round done',
        });
      }
    } finally {
      clearInterval(sampler);
    }
    const upload = Math.max(...uploadRates);
    const tus = Math.max(...tusRates);
    const pipe = Math.max(...baselineRates);
    const growth = (multipartPeakRss - rssBefore) / MB;
    const tusGrowth = (peakRss - rssBefore) / MB;
    const notes = `${size / MB} MB file, best of ${rounds}; upload runs ${uploadRates.map((r) => round(r, 0)).join(', ')} MB/s, pipe and fsync ${baselineRates.map((r) => round(r, 0)).join(', ')} MB/s; CPU per GB: service ${round(Math.min(...cpu.upload), 2)} s, pipe and fsync ${round(Math.min(...cpu.baseline), 2)} s`;
    const hashedRate = Math.max(...hashedRates);
    return [
      ratioResult('upload.throughput', upload, pipe, 'MB/s', 0.8, notes),
      {
        name: 'upload.vsHashedPipe',
        value: round(upload, 1),
        baseline: round(hashedRate, 1),
        ratio: round(upload / hashedRate, 3),
        unit: 'MB/s',
        target: 'none (SPEC §8 sets none)',
        pass: true,
        notes: `the same upload against the baseline that also takes the SHA-256 the service must take (pipe, hash, fsync): ${hashedRates.map((r) => round(r, 0)).join(', ')} MB/s, CPU ${round(Math.min(...cpu.hashed), 2)} s per GB`,
      },
      maxResult(
        'upload.rssGrowth',
        growth,
        64,
        'MB',
        null,
        `service RSS ${round(rssBefore / MB, 0)} MB before, ${round(multipartPeakRss / MB, 0)} MB at peak (sampled every 50 ms)`,
      ),
      ratioResult(
        'upload.tusThroughput',
        tus,
        pipe,
        'MB/s',
        0.8,
        `the same file over tus in ${TUS_PIECE / MB} MiB pieces (each PATCH flushed, fsynced and hashed; the finished partial file read once and filed where it lies), best of ${rounds}; runs ${tusRates.map((r) => round(r, 0)).join(', ')} MB/s; CPU per GB: service ${round(Math.min(...cpu.tus), 2)} s`,
      ),
      maxResult(
        'upload.tusRssGrowth',
        tusGrowth,
        64,
        'MB',
        null,
        `service RSS ${round(rssBefore / MB, 0)} MB before the multipart rounds, ${round(peakRss / MB, 0)} MB at peak over the tus rounds`,
      ),
    ];
  } finally {
    await baseline.stop();
    await service.stop();
    await database.drop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

export const uploadBench: BenchModule = { title: 'Evidence upload of a large file (SPEC §8)', run };
export default uploadBench;
