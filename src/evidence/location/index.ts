import { cleanGif, cleanJpeg, cleanPng, cleanWebp } from './images.ts';
import { cleanIsoMedia, isIsoMedia } from './movies.ts';
import { ByteReader } from './reader.ts';
import { CleaningReport, type LocationCleaning } from './report.ts';

export type { LocationCleaning } from './report.ts';

type Cleaner = (reader: ByteReader, report: CleaningReport) => AsyncGenerator<Buffer>;

const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex');

/** The cleaner for a file's container, told from its first bytes; none for every other kind of file. */
function cleanerFor(head: Buffer): Cleaner | null {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return cleanJpeg;
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return cleanPng;
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return cleanWebp;
  if (/^GIF8[79]a$/.test(head.toString('latin1', 0, 6))) return cleanGif;
  if (isIsoMedia(head)) return cleanIsoMedia;
  return null;
}

/**
 * Whether cleaning a file that starts with `head` keeps every byte where it is: true for movies and
 * HEIF images (their metadata is blanked in place) and for files no cleaner touches. A photo's cleaning
 * may remove blocks or make one longer (a PNG's compressed XMP is stored uncompressed): such a file
 * cannot be cleaned over itself. `head` holds the first 16 bytes or all there are.
 */
export function cleaningKeepsLength(head: Buffer): boolean {
  const cleaner = cleanerFor(head);
  return cleaner === null || cleaner === cleanIsoMedia;
}

/**
 * Removes location data from a photo or a movie as it streams past (SPEC §6 safeguarding): EXIF GPS,
 * maker notes, XMP and IPTC place fields, movie location atoms. The pixels and the media data are
 * never decoded or re-encoded; metadata blocks are edited in place (see ./images.ts, ./movies.ts), so
 * memory stays bounded by the largest metadata block. Any other file, and anything unreadable in one,
 * passes through unchanged. `result()` says what went, once the stream has been read to its end.
 */
export function stripLocation(source: AsyncIterable<Uint8Array>) {
  const report = new CleaningReport();
  let finished = false;
  async function* cleaned(): AsyncGenerator<Uint8Array> {
    const reader = new ByteReader(source);
    const cleaner = cleanerFor(await reader.peek(16));
    if (cleaner) yield* cleaner(reader, report);
    yield* reader.rest();
    finished = true;
  }
  return {
    stream: cleaned(),
    result(): LocationCleaning {
      if (!finished) throw new Error('what was removed is known only after the stream was read');
      return report.result();
    },
  };
}
