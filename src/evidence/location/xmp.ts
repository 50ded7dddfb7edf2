import type { CleaningReport } from './report.ts';

/**
 * XMP properties that say where a photo or film was taken, by their usual prefixes: the EXIF GPS
 * properties, Photoshop's and IPTC Core's place fields, and IPTC Extension's location structures.
 */
const LOCATION_PROPERTY =
  'exif:GPS[A-Za-z]*|photoshop:(?:City|State|Country)|Iptc4xmpCore:(?:Location|CountryCode)|Iptc4xmpExt:(?:LocationShown|LocationCreated)';
// Bounded repeats: each candidate is looked at once, so a hostile packet cannot make this quadratic.
const TAG = new RegExp(`<(/?)(${LOCATION_PROPERTY})(?=[\\s/>])[^<>]{0,1024}>`, 'g');
const AS_ATTRIBUTE = new RegExp(
  `(?<=\\s)(?:${LOCATION_PROPERTY})\\s*=\\s*(?:"[^"<>]{0,4096}"|'[^'<>]{0,4096}')`,
  'g',
);

/** Where the location elements are: from an opening tag to its closing one (whatever lies between). */
function elementRanges(text: string): [number, number][] {
  const ranges: [number, number][] = [];
  let open: { name: string; start: number } | null = null;
  for (const tag of text.matchAll(TAG)) {
    const [whole, slash, name] = tag as unknown as [string, string, string];
    const at = tag.index;
    if (open) {
      if (slash && name === open.name) {
        ranges.push([open.start, at + whole.length]);
        open = null;
      }
    } else if (!slash) {
      if (whole.endsWith('/>')) ranges.push([at, at + whole.length]);
      else open = { name, start: at };
    }
  }
  // Never closed: everything after it goes, the safe side.
  if (open) ranges.push([open.start, text.length]);
  return ranges;
}

/**
 * Blanks the location properties of an XMP packet with spaces, in place: the packet keeps its length
 * (XMP allows whitespace anywhere between elements and attributes), so no offset around it changes.
 */
export function blankXmpLocation(packet: Buffer, report: CleaningReport): void {
  // latin1 maps each byte to one character, so positions in the text are positions in the bytes.
  const text = packet.toString('latin1');
  const ranges = elementRanges(text);
  for (const attribute of text.matchAll(AS_ATTRIBUTE))
    ranges.push([attribute.index, attribute.index + attribute[0].length]);
  if (ranges.length === 0) return;
  for (const [start, end] of ranges) packet.fill(0x20, start, end);
  report.removed('xmp-location');
}
