import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { noteStreamedBytes } from './streamed-garbage.ts';

/** What `PendingObject.write` measured while the bytes went through. */
export type WrittenObject = { size: number; sha256: string };

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export type ByteRange = { start: number; end: number };

/**
 * An object being uploaded: written to a temporary place, then either committed under its key in one
 * atomic step or discarded. Nothing is visible under a key until `commit`.
 */
export interface PendingObject {
  /**
   * Streams `source` to the temporary place, hashing and counting on the way. More than `maxBytes`
   * aborts the write with `ObjectTooLargeError`; any error leaves the pending object to be discarded.
   */
  write(
    source: Readable | AsyncIterable<Uint8Array>,
    options?: { maxBytes?: number },
  ): Promise<WrittenObject>;
  commit(key: string): Promise<void>;
  /** Removes the temporary bytes; safe to call more than once, and after `commit` (then it does nothing). */
  discard(): Promise<void>;
}

/** A complete file taken as a pending object where it lies, and the bytes to give the intake (./in-place.ts). */
export type AdoptedFile = { object: PendingObject; bytes: AsyncIterable<Uint8Array> };

/** A byte store for evidence files. Keys are chosen by the caller (the evidence id). */
export interface EvidenceStore {
  begin(): Promise<PendingObject>;
  open(key: string, range?: ByteRange): Promise<Readable>;
  /** Removes an object; a missing one is not an error. */
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /**
   * Removes committed objects no database row knows (left by a crash between commit and the
   * transaction's commit, or by a removal that failed). `knownKeys` answers which of a batch of keys
   * are still referenced; objects younger than `olderThanMs` are kept, as their upload may still be
   * committing. Returns how many objects were removed.
   */
  sweepOrphans(
    knownKeys: (keys: string[]) => Promise<Set<string>>,
    options?: { olderThanMs?: number },
  ): Promise<number>;
  /**
   * Removes temporary objects whose writer is gone (a process killed mid-upload): those of a dead
   * process on this host at once, others once untouched for `staleAfterMs`. Run at start.
   */
  removeAbandonedTemp(options?: { staleAfterMs?: number }): Promise<number>;
  /**
   * Takes a complete file already on the store's own disk (a finished resumable upload) as a pending
   * object where it lies, instead of copying it; the intake reads it from `bytes` (see ./in-place.ts).
   * Only a store that keeps its objects on that disk has it.
   */
  adopt?(path: string, options?: { sha256?: string }): Promise<AdoptedFile>;
}

export class ObjectTooLargeError extends Error {
  override name = 'ObjectTooLargeError';
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`the object is larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
  constructor(key: string) {
    super(`no stored object ${key}`);
  }
}

// Keys become path segments (and S3 object names): only a safe alphabet, so no traversal is possible.
const KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$/;
export function assertValidKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
}

/**
 * A pass-through that counts and hashes the bytes on their way to a store (unless told not to hash:
 * `sha256` is then empty), and fails the stream as soon as it passes `maxBytes` (so an oversize upload
 * stops at the limit, not at its end).
 */
export function meteringStream(
  maxBytes?: number,
  { hash: hashing = true }: { hash?: boolean } = {},
): { meter: Transform; written: () => WrittenObject } {
  const hash = hashing ? createHash('sha256') : null;
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      noteStreamedBytes(chunk.length);
      if (maxBytes !== undefined && size > maxBytes) return callback(new ObjectTooLargeError(maxBytes));
      hash?.update(chunk);
      callback(null, chunk);
    },
  });
  return { meter, written: () => ({ size, sha256: hash?.digest('hex') ?? '' }) };
}
