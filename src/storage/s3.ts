import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { StorageConfig } from '../config.ts';
import { processIsAlive, THIS_HOST } from './local.ts';
import {
  assertValidKey,
  type ByteRange,
  type EvidenceStore,
  meteringStream,
  ObjectNotFoundError,
  type PendingObject,
  type WrittenObject,
} from './store.ts';

type S3Config = Extract<StorageConfig, { kind: 's3' }>;

const HOUR = 60 * 60 * 1000;
// 8 MiB parts, two in flight: at most ~16 MiB of one upload is in memory at a time.
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

// Temp objects this process is writing right now: never mistaken for abandoned ones.
const liveTempKeys = new Set<string>();

/**
 * Evidence in an S3-compatible bucket (AWS, MinIO, …): objects at `<prefix>objects/<key>`. An upload
 * streams (multipart, a few parts in memory) to `<prefix>tmp/<host>~<pid>~<uuid>` and is copied into
 * place on commit, so nothing is ever visible under a key half-written.
 */
export class S3EvidenceStore implements EvidenceStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(config: S3Config) {
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      // Checksums only where S3 requires them: several S3-compatible servers reject the newer headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  objectKey(key: string): string {
    assertValidKey(key);
    return `${this.prefix}objects/${key}`;
  }

  private get tempPrefix() {
    return `${this.prefix}tmp/`;
  }

  /** Creates the bucket when it does not exist (a fresh MinIO), so a first start needs no manual step. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async begin(): Promise<PendingObject> {
    const tempKey = `${this.tempPrefix}${THIS_HOST}~${process.pid}~${randomUUID()}`;
    liveTempKeys.add(tempKey);
    let state: 'new' | 'writing' | 'written' | 'committed' | 'discarded' = 'new';

    return {
      write: async (source, options = {}): Promise<WrittenObject> => {
        if (state !== 'new') throw new Error(`cannot write a pending object that is ${state}`);
        state = 'writing';
        const { meter, written } = meteringStream(options.maxBytes);
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: tempKey, Body: meter },
          partSize: PART_SIZE,
          queueSize: PARTS_IN_FLIGHT,
          leavePartsOnError: false,
        });
        const feeding = pipeline(source, meter);
        const [fed, sent] = await Promise.allSettled([feeding, upload.done()]);
        if (fed.status === 'rejected') {
          await upload.abort().catch(() => {});
          throw fed.reason;
        }
        if (sent.status === 'rejected') throw sent.reason;
        state = 'written';
        return written();
      },
      commit: async (key) => {
        if (state !== 'written') throw new Error(`cannot commit a pending object that is ${state}`);
        // S3 has no rename: copy into place (atomic for readers), then drop the temp object.
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.objectKey(key),
            CopySource: `${this.bucket}/${tempKey}`,
          }),
        );
        state = 'committed';
        liveTempKeys.delete(tempKey);
        await this.client
          .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tempKey }))
          .catch(() => {});
      },
      discard: async () => {
        if (state === 'committed' || state === 'discarded') return;
        state = 'discarded';
        // A failed write may still have left a single-part object: delete whatever is there.
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tempKey }));
        liveTempKeys.delete(tempKey);
      },
    };
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Every object under `prefix`, page by page. */
  private async *list(prefix: string): AsyncGenerator<{ key: string; lastModified: number }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key) yield { key: item.Key, lastModified: item.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async sweepOrphans(
    knownKeys: (keys: string[]) => Promise<Set<string>>,
    options: { olderThanMs?: number } = {},
  ): Promise<number> {
    const cutoff = Date.now() - (options.olderThanMs ?? HOUR);
    const objectsPrefix = `${this.prefix}objects/`;
    let removed = 0;
    let batch: { key: string; lastModified: number }[] = [];
    const flush = async () => {
      const known = await knownKeys(batch.map((b) => b.key));
      for (const item of batch) {
        if (known.has(item.key) || item.lastModified >= cutoff) continue;
        await this.remove(item.key);
        removed++;
      }
      batch = [];
    };
    for await (const item of this.list(objectsPrefix)) {
      const key = item.key.slice(objectsPrefix.length);
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$/.test(key)) continue;
      batch.push({ key, lastModified: item.lastModified });
      if (batch.length >= 500) await flush();
    }
    if (batch.length > 0) await flush();
    return removed;
  }

  async removeAbandonedTemp(options: { staleAfterMs?: number } = {}): Promise<number> {
    const staleBefore = Date.now() - (options.staleAfterMs ?? HOUR);
    const abandoned = (key: string, lastModified: number) => {
      if (liveTempKeys.has(key)) return false;
      const [host, pidText] = key.slice(this.tempPrefix.length).split('~');
      const pid = Number(pidText);
      const writerDead =
        host === THIS_HOST && Number.isInteger(pid) && (pid === process.pid || !processIsAlive(pid));
      return writerDead || lastModified < staleBefore;
    };
    let removed = 0;
    for await (const item of this.list(this.tempPrefix)) {
      if (!abandoned(item.key, item.lastModified)) continue;
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: item.key }));
      removed++;
    }
    // A writer killed mid-upload leaves an unfinished multipart upload (invisible parts that still
    // cost storage). Not every S3-compatible server lists them; a bucket lifecycle rule is the backstop.
    try {
      const uploads = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.tempPrefix }),
      );
      for (const u of uploads.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !abandoned(u.Key, u.Initiated?.getTime() ?? 0)) continue;
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
        removed++;
      }
    } catch {
      // Listing unfinished uploads is optional.
    }
    return removed;
  }
}
