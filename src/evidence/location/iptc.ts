import type { CleaningReport } from './report.ts';

const IPTC_RESOURCE = 0x0404;
/** IPTC IIM record 2: content location code and name, city, sublocation, province/state, country code and name. */
const LOCATION_DATASETS = new Set([26, 27, 90, 92, 95, 100, 101]);

/**
 * Blanks, with spaces and in place, the IPTC place fields in a block of Photoshop image resources
 * (the body of a JPEG APP13 segment after "Photoshop 3.0\0"). Stops quietly at anything unreadable.
 */
export function blankIptcLocation(resources: Buffer, report: CleaningReport): void {
  let at = 0;
  while (at + 12 <= resources.length) {
    if (resources.toString('latin1', at, at + 4) !== '8BIM') return;
    const id = resources.readUInt16BE(at + 4);
    const nameLength = resources[at + 6] as number;
    const sizeAt = at + 6 + ((1 + nameLength + 1) & ~1);
    if (sizeAt + 4 > resources.length) return;
    const size = resources.readUInt32BE(sizeAt);
    const data = sizeAt + 4;
    if (data + size > resources.length) return;
    if (id === IPTC_RESOURCE) blankDatasets(resources.subarray(data, data + size), report);
    at = data + size + (size & 1);
  }
}

function blankDatasets(iim: Buffer, report: CleaningReport) {
  let at = 0;
  while (at + 5 <= iim.length && iim[at] === 0x1c) {
    const record = iim[at + 1] as number;
    const dataset = iim[at + 2] as number;
    const size = iim.readUInt16BE(at + 3);
    if (size & 0x8000) return; // An extended length: not used for text fields.
    const value = at + 5;
    if (value + size > iim.length) return;
    if (record === 2 && LOCATION_DATASETS.has(dataset) && size > 0) {
      iim.fill(0x20, value, value + size);
      report.removed('iptc-location');
    }
    at = value + size;
  }
}
