import type { Readable } from 'node:stream';
import type { EvidenceStore } from '../storage/store.ts';

/** Previews are made of these: what browsers show and sharp's prebuilt binaries decode (not HEIC). */
const PREVIEWABLE = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);
/** The longest side of a preview, in pixels: enough for a panel's list, small enough to load many. */
export const PREVIEW_SIZE = 320;
/** Decoding stops beyond this many pixels (a 100-megapixel photo is already far past any camera's). */
const MAX_INPUT_PIXELS = 100_000_000;
const PREVIEW_SUFFIX = '-preview';

export const PREVIEW_MEDIA_TYPE = 'image/webp';

/** A preview is stored beside its file, in the same store, under the file's key and a suffix. */
export function previewKeyOf(storageKey: string): string {
  return `${storageKey}${PREVIEW_SUFFIX}`;
}

/** The file's key a preview key belongs to, or null for a key that is not a preview's. */
export function fileKeyOfPreview(key: string): string | null {
  return key.endsWith(PREVIEW_SUFFIX) ? key.slice(0, -PREVIEW_SUFFIX.length) : null;
}

export function mayHavePreview(mediaType: string): boolean {
  return PREVIEWABLE.has(mediaType);
}

/**
 * Makes the preview of a stored image and stores it beside it (see ./intake/previews.ts for when): a WebP at most PREVIEW_SIZE pixels a
 * side, turned the way its EXIF orientation says, without any of its metadata. Returns the preview's
 * key, or null when the image cannot be decoded (the file is evidence all the same).
 */
export async function storePreview(
  store: EvidenceStore,
  storageKey: string,
  log?: { warn: (details: object, message: string) => void },
): Promise<string | null> {
  // Loaded on first use: the native library is not needed to start the service.
  const { default: sharp } = await import('sharp');
  const pending = await store.begin();
  let source: Readable | undefined;
  try {
    source = await store.open(storageKey);
    const resize = sharp({ limitInputPixels: MAX_INPUT_PIXELS, animated: false })
      .rotate()
      .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 });
    source.on('error', (err) => resize.destroy(err));
    source.pipe(resize);
    await pending.write(resize);
    const key = previewKeyOf(storageKey);
    await pending.commit(key);
    return key;
  } catch (err) {
    log?.warn({ err, key: storageKey }, 'could not make a preview of an evidence image');
    return null;
  } finally {
    // An image sharp refused leaves its source unread: close it (a file handle, an S3 connection).
    source?.destroy();
    await pending.discard();
  }
}
