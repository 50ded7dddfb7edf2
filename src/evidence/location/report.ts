/**
 * What the cleaning removed from one file, as the evidence item lists it:
 * - `gps`: the EXIF GPS directory;
 * - `makernotes`: the camera maker's private EXIF block (it can hold its own copy of the position);
 * - `exif`: a whole EXIF block that could not be read (so nothing in it could be kept);
 * - `xmp-location`: location and place properties of an XMP packet;
 * - `xmp`: a whole XMP packet (GIF, where it cannot be edited in place);
 * - `iptc-location`: IPTC place fields (city, province, country, location);
 * - `raw-profile`: a legacy PNG text chunk holding EXIF, IPTC or XMP as hexadecimal;
 * - `video-location`: a movie's location atoms (`©xyz`, `loci`, Apple location keys).
 * `notRemoved` names location data seen but left, with why (see README).
 */
export class CleaningReport {
  private readonly removedSet = new Set<string>();
  private readonly notRemovedSet = new Set<string>();

  removed(what: string): void {
    this.removedSet.add(what);
  }

  notRemoved(what: string): void {
    this.notRemovedSet.add(what);
  }

  result(): LocationCleaning {
    return { removed: [...this.removedSet].sort(), notRemoved: [...this.notRemovedSet].sort() };
  }
}

export type LocationCleaning = { removed: string[]; notRemoved: string[] };
