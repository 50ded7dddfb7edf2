import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The upload bench's baseline: the request body piped straight to a file and fsynced (as the service
 * makes a stored file durable before it commits), no parsing, no hashing.
 */
const dir = process.env.BASELINE_DIR as string;
let n = 0;
const server = createServer(async (req, res) => {
  const path = join(dir, `baseline-${process.pid}-${++n}.bin`);
  try {
    await pipeline(req, createWriteStream(path, { flush: true }));
    res.writeHead(201).end('{}');
  } catch {
    res.writeHead(500).end();
  } finally {
    await rm(path, { force: true });
  }
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`listening at http://127.0.0.1:${port}`);
});
