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
 * skipped; anything else (a cleaned metadata block, the bytes after a removed one) is written over the
 * file at its offset. That is safe because cleaning only blanks or removes, so what is written never
 * runs ahead of what was read. The file is then cut to the length written and fsynced; `commit` moves
 * it into place with `place(path, key)`. A discarded object leaves the file where it is, to its door.
 */
export async function adoptFile(
  path: string,
  place: (from: string, key: string) => Promise<void>,
  readBytes = READ_BYTES,
): Promise<AdoptedFile> {
  const handle = await open(path, 'r+');
  // Where each chunk read from the file came from: chunks have memory of their own, keyed here.
  const readAt = new WeakMap<ArrayBufferLike, number>();
  let state: 'new' | 'writing' | 'written' | 'committed' | 'discarded' = 'new';

  async function* bytes(): AsyncGenerator<Uint8Array> {
    let offset = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafeSlow(readBytes);
      const { bytesRead } = await handle.read(buffer, 0, readBytes, offset);
      if (bytesRead === 0) return;
      readAt.set(buffer.buffer, offset);
      offset += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  let position = 0;
  const overwrite = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const at = position;
      position += chunk.length;
      if (readAt.get(chunk.buffer) === at - chunk.byteOffset) return callback();
      handle.write(chunk, 0, chunk.length, at).then(() => callback(), callback);
    },
    final(callback) {
      (async () => {
        if ((await handle.stat()).size > position) await handle.truncate(position);
        await handle.sync();
      })().then(() => callback(), callback);
    },
  });

  return {
    bytes: bytes(),
    object: {
      async write(source, options = {}): Promise<WrittenObject> {
        if (state !== 'new') throw new Error(`cannot write a pending object that is ${state}`);
        state = 'writing';
        const { meter, written } = meteringStream(options.maxBytes);
        await pipeline(source, meter, overwrite);
        state = 'written';
        return written();
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
