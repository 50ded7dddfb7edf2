import { fileTypeFromBuffer } from 'file-type';
import { DomainError } from '../domain/errors.ts';

/**
 * The evidence types SPEC §6 accepts, keyed by what `file-type` reports from the bytes, valued by the
 * media type we store and serve. Variants of one kind (HEIC sequences, `audio/x-m4a`) map to one name.
 */
const ACCEPTED: Record<string, string> = {
  'application/pdf': 'application/pdf',
  'image/jpeg': 'image/jpeg',
  'image/png': 'image/png',
  'image/webp': 'image/webp',
  'image/gif': 'image/gif',
  // iPhones save photos as HEIC; file-type names some of them by the HEIF family.
  'image/heic': 'image/heic',
  'image/heic-sequence': 'image/heic',
  'image/heif': 'image/heif',
  'image/heif-sequence': 'image/heif',
  'video/mp4': 'video/mp4',
  'video/x-m4v': 'video/mp4',
  'video/quicktime': 'video/quicktime',
  'audio/mpeg': 'audio/mpeg',
  'audio/x-m4a': 'audio/mp4',
  'audio/mp4': 'audio/mp4',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet':
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation':
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text': 'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet': 'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation': 'application/vnd.oasis.opendocument.presentation',
};

export const PLAIN_TEXT = 'text/plain';

/** The media types evidence can have, for documentation. */
export const EVIDENCE_MEDIA_TYPES = [...new Set([...Object.values(ACCEPTED), PLAIN_TEXT])];

/**
 * How many leading bytes type detection sees. Office and OpenDocument files are zips recognised by
 * their first entries (`[Content_Types].xml`, `mimetype`); 64 KiB holds those in files written by
 * Word, Excel, PowerPoint and LibreOffice, and costs little per concurrent upload.
 */
export const HEAD_BYTES = 64 * 1024;

/**
 * Text that a browser or a shell would treat as active content: the WHATWG MIME-sniffing HTML
 * patterns, SVG and XML (SVG may start with an XML declaration), and scripts with a `#!` line.
 */
const ACTIVE_TEXT_START =
  /^(?:<!doctype\s+html|<html|<head|<body|<script|<iframe|<svg|<\?xml|<!--|<style|<title|<table|<div|<font|<br|<h1|<p[\s>]|<a[\s>]|<b[\s>]|#!)/i;

const unsupported = (detail: string) =>
  new DomainError('unsupported-media-type', detail, { accepted: EVIDENCE_MEDIA_TYPES });

/** The media type of a file from its first bytes, or a 415 problem naming what it looks like. */
export async function detectMediaType(head: Uint8Array, filename: string): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) {
    const accepted = ACCEPTED[detected.mime];
    if (accepted) return accepted;
    const what =
      detected.mime === 'application/zip' ? 'a zip archive' : `${detected.mime} (.${detected.ext})`;
    throw unsupported(`"${filename}" is ${what}, which is not accepted as evidence`);
  }
  if (head.includes(0))
    throw unsupported(`"${filename}" is not a recognised document, image, audio or video file`);
  const start = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })
    .decode(head.subarray(0, 1024))
    .trimStart();
  if (ACTIVE_TEXT_START.test(start)) {
    throw unsupported(
      `"${filename}" looks like HTML, SVG, XML or a script, which is not accepted as evidence`,
    );
  }
  return PLAIN_TEXT;
}

/** Checks, chunk by chunk, that a file detected as text is UTF-8 without NUL bytes all the way. */
function textValidator(filename: string) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const invalid = () => unsupported(`"${filename}" is neither a recognised file type nor UTF-8 text`);
  return {
    push(chunk: Uint8Array) {
      if (chunk.includes(0)) throw invalid();
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        throw invalid();
      }
    },
    end() {
      try {
        decoder.decode();
      } catch {
        throw invalid();
      }
    },
  };
}

/**
 * Passes a file's bytes through unchanged while deciding its media type from the first
 * `HEAD_BYTES`; a refused type fails the stream then and there, so the rest is never stored.
 * `result()` gives the type once the stream has been read to the end.
 */
export function inspectMediaType(source: AsyncIterable<Uint8Array>, filename: string) {
  let mediaType: string | null = null;
  async function* inspected(): AsyncGenerator<Uint8Array> {
    let head: Uint8Array[] = [];
    let headLength = 0;
    let text: ReturnType<typeof textValidator> | null = null;
    const decide = async () => {
      const bytes = Buffer.concat(head);
      head = [];
      mediaType = await detectMediaType(bytes, filename);
      if (mediaType === PLAIN_TEXT) {
        text = textValidator(filename);
        text.push(bytes);
      }
    };
    for await (const chunk of source) {
      if (mediaType === null) {
        head.push(chunk);
        headLength += chunk.length;
        if (headLength >= HEAD_BYTES) await decide();
      } else {
        (text as ReturnType<typeof textValidator> | null)?.push(chunk);
      }
      yield chunk;
    }
    if (mediaType === null) await decide();
    (text as ReturnType<typeof textValidator> | null)?.end();
  }
  return {
    stream: inspected(),
    result(): string {
      if (mediaType === null) throw new Error('the media type is known only after the stream was read');
      return mediaType;
    },
  };
}
