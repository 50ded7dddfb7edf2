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

/** A 415 problem about the file `filename` (its safe name), the types accepted listed. */
const unsupported = (detail: string, filename: string) =>
  new DomainError('unsupported-media-type', detail, { filename, accepted: EVIDENCE_MEDIA_TYPES });

/**
 * The file-name extensions of each evidence type, the one a stored file is given first. A name ending
 * in any of them is kept as it is for a file of that type (`photo.jpeg`, `minutes.csv`).
 */
const EXTENSIONS: Record<string, readonly string[]> = {
  'application/pdf': ['pdf'],
  'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
  'image/png': ['png'],
  'image/webp': ['webp'],
  'image/gif': ['gif'],
  'image/heic': ['heic', 'heif', 'hif'],
  'image/heif': ['heic', 'heif', 'hif'],
  'video/mp4': ['mp4', 'm4v', 'm4p', 'f4v'],
  'video/quicktime': ['mov', 'qt'],
  'audio/mpeg': ['mp3'],
  'audio/mp4': ['m4a', 'm4b', 'f4a'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['docx'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['xlsx'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['pptx'],
  'application/vnd.oasis.opendocument.text': ['odt'],
  'application/vnd.oasis.opendocument.spreadsheet': ['ods'],
  'application/vnd.oasis.opendocument.presentation': ['odp'],
  [PLAIN_TEXT]: ['txt', 'csv', 'md'],
};

/** Every extension of an evidence type: a file under one of them is renamed if its bytes are another type. */
const KNOWN_EXTENSIONS = new Set(Object.values(EXTENSIONS).flat());

/**
 * Names that promise markup, code or a link to run (SPEC §6): a browser, a shell or the desktop would
 * render or run such a file by its name, so it is refused whatever it holds. Archives are not here: a
 * zip is a folder of evidence, and archives inside one are refused as nested archives.
 */
const REFUSED_EXTENSIONS = new Set([
  // Markup a browser renders, with its scripts.
  ...['html', 'htm', 'xhtml', 'xht', 'shtml', 'shtm', 'mht', 'mhtml', 'svg', 'svgz', 'xml', 'xsl', 'xslt'],
  // Scripts and code.
  ...['js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'jse', 'wasm', 'php', 'phtml', 'phar'],
  ...['asp', 'aspx', 'jsp', 'jspx', 'cgi', 'py', 'pyw', 'pl', 'pm', 'rb', 'lua', 'jar', 'jnlp', 'class'],
  ...['sh', 'bash', 'zsh', 'ksh', 'csh', 'command', 'tool', 'ps1', 'psm1', 'psd1', 'ps1xml', 'psc1'],
  // Windows: programs, script hosts, installers, help, shortcuts and settings.
  ...['exe', 'com', 'bat', 'cmd', 'msi', 'msp', 'mst', 'scr', 'pif', 'cpl', 'dll', 'sys', 'ocx', 'hta'],
  ...['vb', 'vbs', 'vbe', 'vba', 'wsf', 'wsh', 'wsc', 'ws', 'sct', 'chm', 'hlp', 'msc', 'gadget'],
  ...['lnk', 'url', 'website', 'reg', 'inf', 'scf', 'appref-ms', 'application', 'library-ms'],
  ...['settingcontent-ms', 'searchconnector-ms', 'appx', 'appxbundle', 'msix', 'msixbundle'],
  // Other desktops: launchers, links, installers and packages.
  ...['desktop', 'webloc', 'inetloc', 'app', 'pkg', 'mpkg', 'dmg', 'deb', 'rpm', 'apk', 'ipa', 'run'],
  // Office files that carry macros.
  ...['docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'pptm', 'potm', 'ppsm', 'ppam', 'sldm'],
]);

/**
 * A name split at its extension: the part after the last dot when it is a word of letters and digits
 * (with at least one letter: in "Minutes 12.03" nothing is an extension). `extension` is lower case
 * and compatibility-normalised, so "x.ＨＴＭＬ" is seen as `html`.
 */
export function splitExtension(name: string): { base: string; extension: string | null } {
  const match = /\.([\p{L}\p{N}_-]{1,24})$/u.exec(name);
  if (!match || !/\p{L}/u.test(match[1] as string)) return { base: name, extension: null };
  return {
    base: name.slice(0, match.index),
    extension: (match[1] as string).normalize('NFKC').toLowerCase(),
  };
}

/**
 * Refuses (415) a name that promises markup or code, whatever the file holds. `shown` names the file
 * in the problem (a zip entry's path); the intake calls this before reading a byte of the file.
 */
export function refuseActiveName(filename: string, shown = filename): void {
  const { extension } = splitExtension(filename);
  if (extension !== null && REFUSED_EXTENSIONS.has(extension)) {
    throw unsupported(
      `${shown}: a name ending in .${extension} is not accepted, whatever the file holds`,
      filename,
    );
  }
}

/** Text is accepted only under a text name, or a name without an extension (which then gets `.txt`). */
function refuseTextUnderOtherName(filename: string, shown: string): void {
  const { extension } = splitExtension(filename);
  const textExtensions = EXTENSIONS[PLAIN_TEXT] as readonly string[];
  if (extension !== null && !textExtensions.includes(extension)) {
    throw unsupported(
      `${shown}: the file holds plain text, which is accepted only under a name ending in ${textExtensions.map((e) => `.${e}`).join(', ')} (not .${extension})`,
      filename,
    );
  }
}

/**
 * The name a file of `mediaType` is stored under: its own, when it ends in an extension of that type;
 * else with the extension of another known type replaced by the type's own (`photo.pdf` holding a
 * JPEG → `photo.jpg`), or the type's own added (`notes` → `notes.txt`, `scan.v2` → `scan.v2.pdf`).
 * Kept within 255 characters. An empty file (no type) keeps its name.
 */
export function storedFilename(filename: string, mediaType: string): string {
  const extensions = EXTENSIONS[mediaType];
  if (!extensions) return filename;
  const { base, extension } = splitExtension(filename);
  if (extension !== null && extensions.includes(extension)) return filename;
  const stem = extension !== null && KNOWN_EXTENSIONS.has(extension) ? base : filename;
  const suffix = `.${extensions[0]}`;
  const chars = Array.from(stem);
  const room = 255 - suffix.length;
  return (chars.length > room ? chars.slice(0, room).join('') : stem) + suffix;
}

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

/**
 * The media type of a file from its first bytes, or a 415 problem naming what it looks like. `shown`
 * names the file in the problem; `filename` is its safe name.
 */
export async function detectMediaType(head: Uint8Array, filename: string, shown = filename): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) {
    const accepted = ACCEPTED[detected.mime];
    if (accepted) return accepted;
    const what =
      detected.mime === 'application/zip' ? 'a zip archive' : `${detected.mime} (.${detected.ext})`;
    throw unsupported(`"${shown}" is ${what}, which is not accepted as evidence`, filename);
  }
  if (head.includes(0))
    throw unsupported(`"${shown}" is not a recognised document, image, audio or video file`, filename);
  const start = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })
    .decode(head.subarray(0, 1024))
    .trimStart();
  if (ACTIVE_TEXT_START.test(start)) {
    throw unsupported(
      `"${shown}" looks like HTML, SVG, XML or a script, which is not accepted as evidence`,
      filename,
    );
  }
  return PLAIN_TEXT;
}

/** Checks, chunk by chunk, that a file detected as text is UTF-8 without NUL bytes all the way. */
function textValidator(filename: string, shown: string) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const invalid = () => unsupported(`"${shown}" is neither a recognised file type nor UTF-8 text`, filename);
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
 * Passes a file's bytes through unchanged while deciding its media type from the first `HEAD_BYTES`
 * and checking that its name agrees (text only under a text name); a refused type or name fails the
 * stream then and there, so the rest is never stored. `result()` gives the type once the stream has
 * been read to the end: empty for an empty file, which has none. `filename` is the file's safe name,
 * `shown` names it in problems (a zip entry's path).
 */
export function inspectMediaType(
  source: AsyncIterable<Uint8Array>,
  { filename, shown }: { filename: string; shown: string },
) {
  let mediaType: string | null = null;
  async function* inspected(): AsyncGenerator<Uint8Array> {
    let head: Uint8Array[] = [];
    let headLength = 0;
    let text: ReturnType<typeof textValidator> | null = null;
    const decide = async () => {
      const bytes = Buffer.concat(head);
      head = [];
      const detected = await detectMediaType(bytes, filename, shown);
      if (detected === PLAIN_TEXT) {
        refuseTextUnderOtherName(filename, shown);
        text = textValidator(filename, shown);
        text.push(bytes);
      }
      mediaType = detected;
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
    if (mediaType === null) {
      if (headLength === 0) mediaType = '';
      else await decide();
    }
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
