import type { ByteReader } from './reader.ts';
import type { CleaningReport } from './report.ts';
import { cleanExif } from './tiff.ts';
import { blankXmpLocation } from './xmp.ts';

/**
 * The movie header (`moov`) is read into memory to be edited; one larger than this (a movie of many
 * hours) passes through as it is and the item says its location was not removed.
 */
export const MAX_MOVIE_HEADER_BYTES = 32 * 1024 * 1024;
/** A HEIF image's item index (`meta`) and its EXIF or XMP items are small; larger ones are left. */
const MAX_ITEM_BYTES = 16 * 1024 * 1024;

const XMP_UUID = Buffer.from('be7acfcb97a942e89c71999491e3afac', 'hex');
const LOCATION_ATOMS = new Set(['\u00a9xyz', 'loci']);
const APPLE_LOCATION_KEY = 'com.apple.quicktime.location';
const CONTAINERS = new Set(['moov', 'trak', 'udta', 'meta', 'ilst']);

/** The first bytes of an ISO base media file (MP4, MOV, HEIF) or a QuickTime movie without `ftyp`. */
export function isIsoMedia(head: Buffer): boolean {
  return head.length >= 8 && /^(?:ftyp|moov|wide|free|skip|mdat)$/.test(head.toString('latin1', 4, 8));
}

type Box = { type: string; start: number; body: number; end: number };

/** The boxes directly inside `buf[from, to)`; stops at the first one that does not fit. */
function childBoxes(buf: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) break;
      size = Number(buf.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) break;
    boxes.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, body, end: at + size });
    at += size;
  }
  return boxes;
}

/** A `meta` box's children start after its version and flags, except in QuickTime's own `meta`. */
function metaChildrenStart(buf: Buffer, box: Box): number {
  return buf.toString('latin1', box.body + 4, box.body + 8) === 'hdlr' ? box.body : box.body + 4;
}

/**
 * Renames a box to `free` and zeroes what it held, in place: readers skip it, no offset anywhere
 * changes, and the location is no longer in the file's bytes.
 */
function retire(buf: Buffer, box: Box) {
  buf.write('free', box.start + 4, 'latin1');
  buf.fill(0, box.body, box.end);
}

/**
 * Cleans a movie header in place: `©xyz` and `loci` atoms and the Apple location entries of a
 * `keys`/`ilst` metadata list become `free` boxes, XMP packets are blanked.
 */
export function cleanMovieHeader(buf: Buffer, from: number, to: number, report: CleaningReport): void {
  for (const box of childBoxes(buf, from, to)) {
    if (LOCATION_ATOMS.has(box.type)) {
      retire(buf, box);
      report.removed('video-location');
    } else if (box.type === 'XMP_') {
      blankXmpLocation(buf.subarray(box.body, box.end), report);
    } else if (box.type === 'uuid' && buf.subarray(box.body, box.body + 16).equals(XMP_UUID)) {
      blankXmpLocation(buf.subarray(box.body + 16, box.end), report);
    } else if (box.type === 'meta') {
      const start = metaChildrenStart(buf, box);
      retireAppleLocationItems(buf, start, box.end, report);
      cleanMovieHeader(buf, start, box.end, report);
    } else if (CONTAINERS.has(box.type)) {
      cleanMovieHeader(buf, box.body, box.end, report);
    }
  }
}

/** In a QuickTime metadata list, the values whose key is one of Apple's location keys. */
function retireAppleLocationItems(buf: Buffer, from: number, to: number, report: CleaningReport) {
  const children = childBoxes(buf, from, to);
  const keys = children.find((b) => b.type === 'keys');
  const list = children.find((b) => b.type === 'ilst');
  if (!keys || !list) return;
  const locationIndexes = new Set<number>();
  // keys: version and flags, a count, then (size, namespace, name) entries numbered from 1.
  let at = keys.body + 8;
  for (let index = 1; at + 8 <= keys.end; index++) {
    const size = buf.readUInt32BE(at);
    if (size < 8 || at + size > keys.end) break;
    if (buf.toString('latin1', at + 8, at + size).startsWith(APPLE_LOCATION_KEY)) locationIndexes.add(index);
    at += size;
  }
  for (const item of childBoxes(buf, list.body, list.end)) {
    if (locationIndexes.has(buf.readUInt32BE(item.start + 4))) {
      retire(buf, item);
      report.removed('video-location');
    }
  }
}

/** Where a HEIF item's bytes are: in the file (an absolute range) or in the `meta` box's `idat`. */
type ItemPlace = { kind: 'exif' | 'xmp'; inFile: boolean; offset: number; length: number };

/** The EXIF and XMP items of a HEIF `meta` box and where their (single) extents lie. */
function heifMetadataItems(buf: Buffer, meta: Box, report: CleaningReport): ItemPlace[] {
  const children = childBoxes(buf, meta.body + 4, meta.end);
  const iinf = children.find((b) => b.type === 'iinf');
  const iloc = children.find((b) => b.type === 'iloc');
  if (!iinf || !iloc) return [];
  const kinds = new Map<number, 'exif' | 'xmp'>();
  const infeStart = iinf.body + 4 + (buf[iinf.body] === 0 ? 2 : 4);
  for (const infe of childBoxes(buf, infeStart, iinf.end)) {
    const version = buf[infe.body] as number;
    if (infe.type !== 'infe' || version < 2) continue;
    const idSize = version === 2 ? 2 : 4;
    const id = idSize === 2 ? buf.readUInt16BE(infe.body + 4) : buf.readUInt32BE(infe.body + 4);
    const typeAt = infe.body + 4 + idSize + 2;
    const itemType = buf.toString('latin1', typeAt, typeAt + 4);
    const contentType = buf.toString('latin1', typeAt + 4, infe.end).split('\0')[1] ?? '';
    if (itemType === 'Exif') kinds.set(id, 'exif');
    else if (itemType === 'mime' && contentType.startsWith('application/rdf+xml')) kinds.set(id, 'xmp');
  }
  if (kinds.size === 0) return [];
  const idat = children.find((b) => b.type === 'idat');
  const version = buf[iloc.body] as number;
  const sizes = buf[iloc.body + 4] as number;
  const more = buf[iloc.body + 5] as number;
  const [offsetSize, lengthSize, baseSize] = [sizes >> 4, sizes & 15, more >> 4];
  const indexSize = version === 1 || version === 2 ? more & 15 : 0;
  let at = iloc.body + 6;
  const count = version < 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  const places: ItemPlace[] = [];
  for (let i = 0; i < count && at < iloc.end; i++) {
    const id = version < 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
    at += version < 2 ? 2 : 4;
    let method = 0;
    if (version === 1 || version === 2) {
      method = buf.readUInt16BE(at) & 15;
      at += 2;
    }
    at += 2; // data reference index
    const base = offsetValue(buf, at, baseSize);
    at += baseSize;
    const extents = buf.readUInt16BE(at);
    at += 2;
    const kind = kinds.get(id);
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      const offset = offsetValue(buf, at, offsetSize);
      const length = offsetValue(buf, at + offsetSize, lengthSize);
      at += offsetSize + lengthSize;
      if (!kind) continue;
      if (extents !== 1 || method > 1 || length > MAX_ITEM_BYTES || (method === 1 && !idat)) {
        report.notRemoved(`heif-${kind}-item-layout`);
        continue;
      }
      places.push(
        method === 1
          ? { kind, inFile: false, offset: (idat as Box).body + base + offset, length }
          : { kind, inFile: true, offset: base + offset, length },
      );
    }
  }
  return places;
}

function offsetValue(buf: Buffer, at: number, size: number): number {
  if (size === 0) return 0;
  if (size === 4) return buf.readUInt32BE(at);
  if (size === 8) return Number(buf.readBigUInt64BE(at));
  return buf.readUIntBE(at, size);
}

/** A HEIF EXIF item: a 4-byte offset to the TIFF header, then (usually "Exif\0\0" and) the TIFF data. */
function cleanItem(item: Buffer, kind: 'exif' | 'xmp', report: CleaningReport) {
  if (kind === 'xmp') return blankXmpLocation(item, report);
  if (item.length < 4) return;
  cleanExif(item.subarray(4 + item.readUInt32BE(0)), report);
}

/**
 * MP4, MOV and HEIF: every edit keeps the length of what it edits, so no offset (chunk offsets, item
 * locations) moves and the media data passes through untouched. The movie header and a HEIF item
 * index are read whole; a HEIF item stored later in the file is cleaned as it streams past.
 */
export async function* cleanIsoMedia(reader: ByteReader, report: CleaningReport): AsyncGenerator<Buffer> {
  let items: ItemPlace[] = [];
  /** Passes `n` bytes on, cleaning the HEIF items that lie among them. */
  async function* passCleaning(n: number): AsyncGenerator<Buffer> {
    const end = reader.position + n;
    for (;;) {
      const next = items.find((i) => i.offset >= reader.position && i.offset + i.length <= end);
      if (!next) break;
      yield* reader.pass(next.offset - reader.position);
      const item = await reader.read(next.length);
      cleanItem(item, next.kind, report);
      items = items.filter((i) => i !== next);
      yield item;
    }
    yield* reader.pass(end - reader.position);
  }

  for (;;) {
    const start = reader.position;
    let header = await reader.read(8);
    if (header.length < 8) {
      yield header;
      break;
    }
    let size = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (size === 1) {
      const large = await reader.read(8);
      header = Buffer.concat([header, large]);
      if (large.length < 8) {
        yield header;
        break;
      }
      size = Number(large.readBigUInt64BE(0));
    }
    if (size === 0) {
      yield header;
      yield* passCleaning(Number.MAX_SAFE_INTEGER - reader.position);
      break;
    }
    if (size < header.length) {
      yield header;
      break;
    }
    const bodySize = size - header.length;
    const editable = type === 'moov' || type === 'meta' || type === 'uuid';
    const limit = type === 'moov' ? MAX_MOVIE_HEADER_BYTES : MAX_ITEM_BYTES;
    if (!editable || bodySize > limit) {
      if (type === 'moov') report.notRemoved('movie-header-too-large');
      yield header;
      yield* passCleaning(bodySize);
      continue;
    }
    const box = Buffer.concat([header, await reader.read(bodySize)]);
    const whole: Box = { type, start: 0, body: header.length, end: box.length };
    if (box.length === size) {
      try {
        if (type === 'meta') {
          for (const place of heifMetadataItems(box, whole, report)) {
            if (!place.inFile)
              cleanItem(box.subarray(place.offset, place.offset + place.length), place.kind, report);
            else if (place.offset >= start + size) items.push(place);
            else report.notRemoved(`heif-${place.kind}-before-index`);
          }
        }
        cleanMovieHeader(box, 0, box.length, report);
      } catch (err) {
        // A box that points outside itself: what was edited stays edited, the rest is left.
        if (!(err instanceof RangeError)) throw err;
        report.notRemoved(`${type}-unreadable`);
      }
    }
    yield box;
  }
  for (const item of items) report.notRemoved(`heif-${item.kind}-item-missing`);
}
