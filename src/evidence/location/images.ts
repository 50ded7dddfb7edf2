import { crc32, inflateSync } from 'node:zlib';
import { blankIptcLocation } from './iptc.ts';
import type { ByteReader } from './reader.ts';
import type { CleaningReport } from './report.ts';
import { cleanExif } from './tiff.ts';
import { blankXmpLocation } from './xmp.ts';

/** Metadata blocks larger than this are not read into memory (no camera writes one near it). */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');
const XMP_HEADER = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
const EXTENDED_XMP_HEADER = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1');
const PHOTOSHOP_HEADER = Buffer.from('Photoshop 3.0\0', 'latin1');

/** An EXIF block as JPEG and WebP carry it: the TIFF data, after an optional "Exif\0\0". */
export function cleanExifBlock(block: Buffer, report: CleaningReport): void {
  cleanExif(block.subarray(0, 6).equals(EXIF_HEADER) ? block.subarray(6) : block, report);
}

/**
 * JPEG: the segments before the image data (APP1 EXIF and XMP, APP13 IPTC) are cleaned in place; the
 * ICC profile (APP2) and everything from the start of scan on pass through untouched.
 */
export async function* cleanJpeg(reader: ByteReader, report: CleaningReport): AsyncGenerator<Buffer> {
  yield await reader.read(2);
  for (;;) {
    const header = await reader.read(4);
    const marker = header[1] as number;
    if (
      header.length < 4 ||
      header[0] !== 0xff ||
      marker === 0xda ||
      marker === 0xd9 ||
      header.readUInt16BE(2) < 2
    ) {
      yield header;
      return;
    }
    const body = await reader.read(header.readUInt16BE(2) - 2);
    if (marker === 0xe1) {
      if (body.subarray(0, 6).equals(EXIF_HEADER)) cleanExif(body.subarray(6), report);
      else if (body.subarray(0, XMP_HEADER.length).equals(XMP_HEADER))
        blankXmpLocation(body.subarray(XMP_HEADER.length), report);
      // Extended XMP: a GUID, the full length and this part's offset come before the part.
      else if (body.subarray(0, EXTENDED_XMP_HEADER.length).equals(EXTENDED_XMP_HEADER))
        blankXmpLocation(body.subarray(EXTENDED_XMP_HEADER.length + 40), report);
    } else if (marker === 0xed && body.subarray(0, PHOTOSHOP_HEADER.length).equals(PHOTOSHOP_HEADER)) {
      blankIptcLocation(body.subarray(PHOTOSHOP_HEADER.length), report);
    }
    yield Buffer.concat([header, body]);
  }
}

const RAW_PROFILES = /^Raw profile type (?:exif|app1|iptc|xmp|8bim)$/i;

/**
 * PNG: eXIf is cleaned like any EXIF, the XMP iTXt chunk blanked (a compressed one is rewritten
 * uncompressed), and the legacy "Raw profile type" text chunks (hexadecimal EXIF/IPTC/XMP) dropped;
 * each changed chunk gets its CRC again. Image data (IDAT) and the ICC profile (iCCP) pass through.
 */
export async function* cleanPng(reader: ByteReader, report: CleaningReport): AsyncGenerator<Buffer> {
  yield await reader.read(8);
  for (;;) {
    const header = await reader.read(8);
    if (header.length < 8) {
      yield header;
      return;
    }
    const length = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    const metadata = type === 'eXIf' || type === 'iTXt' || type === 'tEXt' || type === 'zTXt';
    if (!metadata || length > MAX_METADATA_BYTES) {
      yield header;
      yield* reader.pass(length + 4);
      if (type === 'IEND') return;
      continue;
    }
    const withCrc = await reader.read(length + 4);
    if (withCrc.length < length + 4) {
      yield header;
      yield withCrc;
      return;
    }
    const data = withCrc.subarray(0, length);
    const keyword = type === 'eXIf' ? '' : data.toString('latin1', 0, Math.max(0, data.indexOf(0)));
    if (RAW_PROFILES.test(keyword)) {
      report.removed('raw-profile');
      continue;
    }
    let cleaned: Buffer = data;
    if (type === 'eXIf') cleanExif(data, report);
    else if (type === 'iTXt' && keyword === 'XML:com.adobe.xmp') cleaned = cleanXmpText(data, report);
    else {
      yield Buffer.concat([header, withCrc]);
      continue;
    }
    yield pngChunk(type, cleaned);
  }
}

/** An iTXt chunk's XMP with its location blanked, stored uncompressed. */
function cleanXmpText(data: Buffer, report: CleaningReport): Buffer {
  const keywordEnd = data.indexOf(0);
  const compressed = data[keywordEnd + 1] === 1;
  const languageEnd = data.indexOf(0, keywordEnd + 3);
  const translatedEnd = data.indexOf(0, languageEnd + 1);
  if (keywordEnd < 0 || languageEnd < 0 || translatedEnd < 0) return data;
  const prefix = Buffer.from(data.subarray(0, translatedEnd + 1));
  let text = data.subarray(translatedEnd + 1);
  if (compressed) {
    try {
      text = inflateSync(text, { maxOutputLength: MAX_METADATA_BYTES });
    } catch {
      // Unreadable: dropping the packet is the safe side.
      report.removed('xmp');
      text = Buffer.alloc(0);
    }
    prefix[keywordEnd + 1] = 0;
    prefix[keywordEnd + 2] = 0;
  }
  blankXmpLocation(text, report);
  return Buffer.concat([prefix, text]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/**
 * WebP: the EXIF and XMP chunks are cleaned in place (same length, so the RIFF sizes stay right);
 * the image chunks and the ICC profile pass through.
 */
export async function* cleanWebp(reader: ByteReader, report: CleaningReport): AsyncGenerator<Buffer> {
  yield await reader.read(12);
  for (;;) {
    const header = await reader.read(8);
    if (header.length < 8) {
      yield header;
      return;
    }
    const type = header.toString('latin1', 0, 4);
    const size = header.readUInt32LE(4);
    const padded = size + (size & 1);
    yield header;
    if ((type === 'EXIF' || type === 'XMP ') && size <= MAX_METADATA_BYTES) {
      const data = await reader.read(padded);
      if (type === 'EXIF') cleanExifBlock(data.subarray(0, size), report);
      else blankXmpLocation(data.subarray(0, size), report);
      yield data;
    } else {
      yield* reader.pass(padded);
    }
  }
}

const XMP_APPLICATION = 'XMP DataXMP';

/**
 * GIF has no EXIF; its XMP application extension cannot be edited in place (its bytes double as
 * sub-block lengths), and a GIF has no offsets, so the whole XMP extension is dropped.
 */
export async function* cleanGif(reader: ByteReader, report: CleaningReport): AsyncGenerator<Buffer> {
  const screen = await reader.read(13);
  yield screen;
  if (screen.length < 13) return;
  const flags = screen[10] as number;
  if (flags & 0x80) yield* reader.pass(3 * 2 ** ((flags & 7) + 1));
  for (;;) {
    const introducer = await reader.read(1);
    if (introducer[0] === 0x2c) {
      const descriptor = await reader.read(9);
      const localFlags = descriptor[8] ?? 0;
      yield Buffer.concat([introducer, descriptor]);
      if (localFlags & 0x80) yield* reader.pass(3 * 2 ** ((localFlags & 7) + 1));
      yield await reader.read(1); // LZW minimum code size
      yield* subBlocks(reader, true);
    } else if (introducer[0] === 0x21) {
      const label = await reader.read(1);
      const first = label[0] === 0xff ? await reader.peek(12) : Buffer.alloc(0);
      if (first[0] === 11 && first.toString('latin1', 1, 12) === XMP_APPLICATION) {
        for await (const _ of subBlocks(reader, false)) {
          // Dropped: read through to the end of the extension.
        }
        report.removed('xmp');
        continue;
      }
      yield Buffer.concat([introducer, label]);
      yield* subBlocks(reader, true);
    } else {
      yield introducer; // The trailer, or something unreadable: the rest passes as it is.
      return;
    }
  }
}

/** Data sub-blocks up to the terminating empty one, passed on or (`keep` false) dropped. */
async function* subBlocks(reader: ByteReader, keep: boolean): AsyncGenerator<Buffer> {
  for (;;) {
    const size = await reader.read(1);
    const block = size.length === 1 && size[0] !== 0 ? await reader.read(size[0] as number) : null;
    if (keep) yield block ? Buffer.concat([size, block]) : size;
    if (!block || block.length < (size[0] as number)) return;
  }
}
