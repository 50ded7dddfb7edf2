import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The upload bench's baseline: the request body piped straight to a file and fsynced (as the service
 * makes a stored file durable before it commits), no parsing, no hashing. `POST /hashed` also takes the
 * body's SHA-256 on the way, as the service must: the reference for what the hash alone costs.
 */
const dir = process.env.BASELINE_DIR as string;
let n = 0;
const server = createServer(async (req, res) => {
  const path = join(dir, `baseline-${process.pid}-${++n}.bin`);
  try {
    if (req.url === '/hashed') {
      const hash = createHash('sha256');
      await pipeline(
        req,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(path, { flush: true }),
      );
      hash.digest();
    } else {
      await pipeline(req, createWriteStream(path, { flush: true }));
    }
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
