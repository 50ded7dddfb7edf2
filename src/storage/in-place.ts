import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type AdoptedFile, meteringStream, type WrittenObject } from './store.ts';

/** How much of the file one read takes: large reads, few chunks through the intake's stages. */
const READ_BYTES = 1024 * 1024;

/**
 * Takes the complete file at `path` as a pending object where it lies, instead of copying it (a
 * finished resumable upload, written to the store's own disk piece by piece). `bytes` reads the file;
 * the intake types and cleans them and hands `object.write` what it would store. A chunk that is still
 * the file's own memory, read from the very offset it would be written to, is already there and is
 * skipped; anything else (a metadata block the cleaner read whole and blanked) is compared with the file
 * and, where it differs, written over it at its offset. Only a transformation that keeps every byte
 * where it is may be written over its own input (movie metadata is blanked in place; a photo's cleaning
 * may move bytes): the caller decides, and a write that would reach bytes not yet read fails instead of
 * corrupting them. The file is then fsynced; `commit` moves it into place with `place(path, key)`. When
 * the door already hashed the file as its bytes arrived, that hash is the stored file's unless something
 * was written (then the file is read again). A discarded object leaves the file where it is.
 */
export async function adoptFile(
  path: string,
  place: (from: string, key: string) => Promise<void>,
  options: {
    /** The SHA-256 of the file as it lies, when its door hashed the bytes as they arrived. */
    sha256?: string;
    readBytes?: number;
  } = {},
): Promise<AdoptedFile> {
  const readBytes = options.readBytes ?? READ_BYTES;
  const handle = await open(path, 'r+');
  // The file as it was taken: nothing past its end is read, whatever is written meanwhile.
  const { size } = await handle.stat().catch(async (err) => {
    await handle.close();
    throw err;
  });
  // Where each chunk read from the file came from: chunks have memory of their own, keyed here.
  const readAt = new WeakMap<ArrayBufferLike, number>();
  let readUpTo = 0;
  let state: 'new' | 'writing' | 'written' | 'committed' | 'discarded' = 'new';

  async function* bytes(): AsyncGenerator<Uint8Array> {
    while (readUpTo < size) {
      const length = Math.min(readBytes, size - readUpTo);
      const buffer = Buffer.allocUnsafeSlow(length);
      const { bytesRead } = await handle.read(buffer, 0, length, readUpTo);
      if (bytesRead === 0) return;
      readAt.set(buffer.buffer, readUpTo);
      readUpTo += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  let position = 0;
  let changed = false;
  const overwrite = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const at = position;
      position += chunk.length;
      if (readAt.get(chunk.buffer) === at - chunk.byteOffset) return callback();
      // Bytes of its own (a metadata block read whole, maybe cleaned): written only if they differ.
      if (at + chunk.length > readUpTo) {
        return callback(new Error(`${path}: a write at ${at} would reach bytes not yet read (${readUpTo})`));
      }
      (async () => {
        const current = Buffer.allocUnsafe(chunk.length);
        const { bytesRead } = await handle.read(current, 0, chunk.length, at);
        if (bytesRead === chunk.length && current.equals(chunk)) return;
        changed = true;
        await handle.write(chunk, 0, chunk.length, at);
      })().then(() => callback(), callback);
    },
    final(callback) {
      (async () => {
        if (position !== size) throw new Error(`${path}: ${position} bytes written over a file of ${size}`);
        await handle.sync();
      })().then(() => callback(), callback);
    },
  });

  /** The SHA-256 of the file as it now is: a second reading, for a file the door hashed but the cleaning changed. */
  async function hashOfFile(): Promise<string> {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(readBytes);
    for (let offset = 0; ; ) {
      const { bytesRead } = await handle.read(buffer, 0, readBytes, offset);
      if (bytesRead === 0) return hash.digest('hex');
      hash.update(buffer.subarray(0, bytesRead));
      offset += bytesRead;
    }
  }

  return {
    bytes: bytes(),
    object: {
      async write(source, limits = {}): Promise<WrittenObject> {
        if (state !== 'new') throw new Error(`cannot write a pending object that is ${state}`);
        state = 'writing';
        // Hashed by its door: the meter only counts, and the door's hash holds unless the cleaning changed the file.
        const known = options.sha256;
        const { meter, written } = meteringStream(limits.maxBytes, { hash: known === undefined });
        await pipeline(source, meter, overwrite);
        state = 'written';
        const { size, sha256 } = written();
        return { size, sha256: known === undefined ? sha256 : changed ? await hashOfFile() : known };
      },
      async commit(key) {
        if (state !== 'written') throw new Error(`cannot commit a pending object that is ${state}`);
        await handle.close();
        await place(path, key);
        state = 'committed';
      },
      async discard() {
        if (state === 'committed' || state === 'discarded') return;
        state = 'discarded';
        await handle.close();
      },
    },
  };
}
