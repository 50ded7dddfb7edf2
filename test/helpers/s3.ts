import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from '@jest/globals';
import S3rver from 's3rver';

/**
 * A real S3-compatible server (s3rver, from the npm registry) on a free loopback port, its data in a
 * temp directory; no Docker needed. `env` configures the app to use it.
 */
export async function startS3Server() {
  const directory = await mkdtemp(join(tmpdir(), 'sa-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  let buckets = 0;
  return {
    endpoint,
    /** Environment for an app on a new bucket of this server (created by the app at start). */
    env(): Record<string, string> {
      return {
        STORAGE: 's3',
        S3_ENDPOINT: endpoint,
        S3_BUCKET: `evidence-${process.pid}-${++buckets}`,
        S3_ACCESS_KEY_ID: credentials.accessKeyId,
        S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        S3_FORCE_PATH_STYLE: '1',
      };
    },
    /** Every object key in a bucket, and the keys of unfinished multipart uploads. */
    async keys(bucket: string): Promise<string[]> {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        out.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      const uploads = await client
        .send(new ListMultipartUploadsCommand({ Bucket: bucket }))
        .catch(() => ({ Uploads: [] }));
      out.push(...(uploads.Uploads ?? []).map((u) => `(unfinished upload) ${u.Key}`));
      return out.sort();
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export type S3Server = Awaited<ReturnType<typeof startS3Server>>;

/**
 * One S3 server for the file (or describe) where it is called, started in its beforeAll and closed in
 * its afterAll; the returned function gives it once started.
 */
export function useS3Server(): () => S3Server {
  let server: S3Server | undefined;
  beforeAll(async () => {
    server = await startS3Server();
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('The S3 server starts in beforeAll');
    return server;
  };
}
