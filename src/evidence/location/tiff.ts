import type { CleaningReport } from './report.ts';

const GPS_IFD = 0x8825;
const EXIF_IFD = 0x8769;
const MAKER_NOTE = 0x927c;
const TYPE_SIZES: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

class Invalid extends Error {}

/**
 * Removes the GPS directory and the maker note from an EXIF (TIFF) block, in place and without
 * changing its length, so that nothing around it (a JPEG segment, a PNG or WebP chunk, a HEIF item)
 * moves: the pointer entries are taken out of their directories and the bytes they pointed at are
 * zeroed. Everything else (orientation, dates, camera settings) stays where it was. A block that
 * cannot be read is zeroed whole.
 */
export function cleanExif(tiff: Buffer, report: CleaningReport): void {
  try {
    cleanReadableExif(tiff, report);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    tiff.fill(0);
    report.removed('exif');
  }
}

function cleanReadableExif(tiff: Buffer, report: CleaningReport) {
  if (tiff.length < 8) throw new Invalid();
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') throw new Invalid();
  const le = order === 'II';
  const u16 = (at: number) => {
    if (at < 0 || at + 2 > tiff.length) throw new Invalid();
    return le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at);
  };
  const u32 = (at: number) => {
    if (at < 0 || at + 4 > tiff.length) throw new Invalid();
    return le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at);
  };
  const setU16 = (at: number, value: number) =>
    le ? tiff.writeUInt16LE(value, at) : tiff.writeUInt16BE(value, at);
  if (u16(2) !== 42) throw new Invalid();

  type Entry = { at: number; tag: number; type: number; count: number };
  const entriesOf = (ifd: number): Entry[] => {
    const count = u16(ifd);
    if (ifd + 2 + count * 12 + 4 > tiff.length) throw new Invalid();
    return Array.from({ length: count }, (_, i) => {
      const at = ifd + 2 + i * 12;
      return { at, tag: u16(at), type: u16(at + 2), count: u32(at + 4) };
    });
  };
  /** The bytes an entry's value occupies outside its directory (none when it fits in the entry). */
  const valueRange = (entry: Entry): [number, number] | null => {
    const bytes = (TYPE_SIZES[entry.type] ?? 1) * entry.count;
    if (bytes <= 4) return null;
    const start = u32(entry.at + 8);
    return [start, Math.min(start + bytes, tiff.length)];
  };
  /** Takes an entry out of its directory: the later entries and the next-directory pointer move up. */
  const removeEntry = (ifd: number, tag: number) => {
    const count = u16(ifd);
    const index = entriesOf(ifd).findIndex((e) => e.tag === tag);
    if (index < 0) return;
    const start = ifd + 2;
    const end = start + count * 12 + 4;
    tiff.copyWithin(start + index * 12, start + (index + 1) * 12, end);
    tiff.fill(0, end - 12, end);
    setU16(ifd, count - 1);
  };
  /** Zeroes a directory and the values it points at. */
  const blankIfd = (ifd: number) => {
    const entries = entriesOf(ifd);
    for (const entry of entries) {
      const range = valueRange(entry);
      if (range) tiff.fill(0, range[0], range[1]);
    }
    tiff.fill(0, ifd, ifd + 2 + entries.length * 12 + 4);
  };

  const ifd0 = u32(4);
  const directories = [ifd0];
  const next = u32(ifd0 + 2 + u16(ifd0) * 12);
  if (next !== 0) directories.push(next);
  for (const ifd of directories) {
    const gps = entriesOf(ifd).find((e) => e.tag === GPS_IFD);
    if (!gps) continue;
    const gpsIfd = u32(gps.at + 8);
    removeEntry(ifd, GPS_IFD);
    if (gpsIfd !== 0) blankIfd(gpsIfd);
    report.removed('gps');
  }
  const exifPointer = entriesOf(ifd0).find((e) => e.tag === EXIF_IFD);
  if (!exifPointer) return;
  const exifIfd = u32(exifPointer.at + 8);
  const makerNote = entriesOf(exifIfd).find((e) => e.tag === MAKER_NOTE);
  if (!makerNote) return;
  const range = valueRange(makerNote);
  removeEntry(exifIfd, MAKER_NOTE);
  if (range) tiff.fill(0, range[0], range[1]);
  report.removed('makernotes');
}
