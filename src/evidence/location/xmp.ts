import type { CleaningReport } from './report.ts';

/**
 * XMP properties that say where a photo or film was taken, by their usual prefixes: the EXIF GPS
 * properties, Photoshop's and IPTC Core's place fields, and IPTC Extension's location structures.
 */
const LOCATION_PROPERTY =
  'exif:GPS[A-Za-z]*|photoshop:(?:City|State|Country)|Iptc4xmpCore:(?:Location|CountryCode)|Iptc4xmpExt:(?:LocationShown|LocationCreated)';
const AS_ELEMENT = new RegExp(`<(${LOCATION_PROPERTY})(?=[\\s/>])[^>]*?(?:/>|>[\\s\\S]*?</\\1\\s*>)`, 'g');
const AS_ATTRIBUTE = new RegExp(`(?<=\\s)(?:${LOCATION_PROPERTY})\\s*=\\s*(?:"[^"]*"|'[^']*')`, 'g');

/**
 * Blanks the location properties of an XMP packet with spaces, in place: the packet keeps its length
 * (XMP allows whitespace anywhere between elements and attributes), so no offset around it changes.
 */
export function blankXmpLocation(packet: Buffer, report: CleaningReport): void {
  // latin1 maps each byte to one character, so positions in the text are positions in the bytes.
  const text = packet.toString('latin1');
  const blanked = text
    .replace(AS_ELEMENT, (match) => ' '.repeat(match.length))
    .replace(AS_ATTRIBUTE, (match) => ' '.repeat(match.length));
  if (blanked === text) return;
  packet.write(blanked, 'latin1');
  report.removed('xmp-location');
}
