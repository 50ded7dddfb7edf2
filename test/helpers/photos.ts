import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Photos and movies carrying location data, built byte by byte (no binary fixtures are committed): a
 * real image made by sharp, with EXIF (GPS directory, orientation, maker note), XMP and IPTC blocks
 * put into its container the way cameras and phones write them.
 */

type Value = { type: number; count: number; bytes: Buffer };
type Directory = Map<number, Value | 'exif' | 'gps'>;

const ascii = (text: string): Value => ({
  type: 2,
  count: text.length + 1,
  bytes: Buffer.from(`${text}\0`, 'latin1'),
});
const short = (n: number): Value => {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(n);
  return { type: 3, count: 1, bytes };
};
const rationals = (...pairs: [number, number][]): Value => {
  const bytes = Buffer.alloc(8 * pairs.length);
  pairs.forEach(([n, d], i) => {
    bytes.writeUInt32BE(n, i * 8);
    bytes.writeUInt32BE(d, i * 8 + 4);
  });
  return { type: 5, count: pairs.length, bytes };
};
const undefinedBytes = (bytes: Buffer): Value => ({ type: 7, count: bytes.length, bytes });

export type ExifOptions = { latitude?: number; altitude?: boolean; makerNote?: string; orientation?: number };

export const MAKER_NOTE = 'ACME-MAKERNOTE lat=53.7428 lon=-2.0139 serial=0042';

/** A big-endian TIFF block: IFD0 (orientation, software, Exif and GPS pointers), Exif IFD (maker note), GPS IFD. */
export function exifTiff(options: ExifOptions = {}): Buffer {
  const ifd0: Directory = new Map<number, Value | 'exif' | 'gps'>([
    [0x0112, short(options.orientation ?? 6)],
    [0x0131, ascii('Sanctuary camera 1.0')],
    [0x8769, 'exif'],
    [0x8825, 'gps'],
  ]);
  const exif: Directory = new Map([
    [0x9003, ascii('2026:05:01 10:00:00')],
    [0x927c, undefinedBytes(Buffer.from(options.makerNote ?? MAKER_NOTE, 'latin1'))],
  ]);
  const latitude = options.latitude ?? 53.7428;
  const gps: Directory = new Map([
    [0x0001, ascii('N')],
    [0x0002, rationals([Math.floor(latitude), 1], [Math.round((latitude % 1) * 60 * 100), 100], [0, 1])],
    [0x0003, ascii('W')],
    [0x0004, rationals([2, 1], [84, 100], [0, 1])],
    ...(options.altitude ? ([[0x0006, rationals([120, 1])]] as const) : []),
  ]);
  const directories = [ifd0, exif, gps];
  const sizeOf = (d: Directory) => 2 + d.size * 12 + 4;
  const offsets: number[] = [];
  let at = 8;
  for (const d of directories) {
    offsets.push(at);
    at += sizeOf(d);
  }
  const data: Buffer[] = [];
  let dataAt = at;
  const out = Buffer.alloc(at);
  out.write('MM', 0, 'latin1');
  out.writeUInt16BE(42, 2);
  out.writeUInt32BE(8, 4);
  directories.forEach((d, i) => {
    let entry = (offsets[i] as number) + 2;
    out.writeUInt16BE(d.size, entry - 2);
    for (const [tag, value] of [...d.entries()].sort((a, b) => a[0] - b[0])) {
      out.writeUInt16BE(tag, entry);
      if (value === 'exif' || value === 'gps') {
        out.writeUInt16BE(4, entry + 2);
        out.writeUInt32BE(1, entry + 4);
        out.writeUInt32BE(offsets[value === 'exif' ? 1 : 2] as number, entry + 8);
      } else {
        out.writeUInt16BE(value.type, entry + 2);
        out.writeUInt32BE(value.count, entry + 4);
        if (value.bytes.length <= 4) value.bytes.copy(out, entry + 8);
        else {
          out.writeUInt32BE(dataAt, entry + 8);
          const padded = Buffer.concat([value.bytes, Buffer.alloc(value.bytes.length & 1)]);
          data.push(padded);
          dataAt += padded.length;
        }
      }
      entry += 12;
    }
  });
  return Buffer.concat([out, ...data]);
}

export const PLACE = 'Hebden Bridge';

/** An XMP packet with a creator tool to keep and location properties (element and attribute forms) to remove. */
export function xmpPacket(): Buffer {
  return Buffer.from(
    `<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmp:CreatorTool="Sanctuary camera 1.0" exif:GPSLatitude="53,44.57N" photoshop:City="${PLACE}">
<exif:GPSLongitude>2,0.84W</exif:GPSLongitude>
<photoshop:Country>United Kingdom</photoshop:Country>
<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>${PLACE}</Iptc4xmpExt:City></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`,
    'utf8',
  );
}

function jpegSegment(marker: number, body: Buffer): Buffer {
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** Photoshop image resources holding an IPTC block with a city and a caption. */
function photoshopIptc(): Buffer {
  const dataset = (n: number, text: string) => {
    const value = Buffer.from(text, 'latin1');
    const head = Buffer.from([0x1c, 2, n, 0, 0]);
    head.writeUInt16BE(value.length, 3);
    return Buffer.concat([head, value]);
  };
  const iim = Buffer.concat([
    dataset(120, 'Our sanctuary garden'),
    dataset(90, PLACE),
    dataset(101, 'United Kingdom'),
  ]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(iim.length);
  return Buffer.concat([
    Buffer.from('Photoshop 3.0\0', 'latin1'),
    Buffer.from('8BIM', 'latin1'),
    Buffer.from([0x04, 0x04, 0, 0]),
    size,
    iim,
    Buffer.alloc(iim.length & 1),
  ]);
}

/** A small gradient image, so that its preview and its pixels mean something. */
function gradient(width = 96, height = 64) {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) pixels.set([x * 2, y * 3, 128], (y * width + x) * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

/** A JPEG with an sRGB ICC profile, EXIF (GPS, orientation 6, maker note), XMP with location and IPTC. */
export async function jpegWithLocation(options: ExifOptions = {}): Promise<Buffer> {
  const plain = await gradient().withIccProfile('srgb').jpeg({ quality: 80 }).toBuffer();
  const segments = [
    jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifTiff(options)])),
    jpegSegment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), xmpPacket()])),
    jpegSegment(0xed, photoshopIptc()),
  ];
  return Buffer.concat([plain.subarray(0, 2), ...segments, plain.subarray(2)]);
}

/** The bytes from a JPEG's start of scan to its end: the image data. */
export function jpegImageData(jpeg: Buffer): Buffer {
  return jpeg.subarray(jpegSegments(jpeg).find((s) => s.marker === 0xda)?.at ?? jpeg.length);
}

/** A JPEG's segments up to the start of scan. */
export function jpegSegments(jpeg: Buffer): { marker: number; at: number; body: Buffer }[] {
  const out: { marker: number; at: number; body: Buffer }[] = [];
  let at = 2;
  while (at + 4 <= jpeg.length) {
    const marker = jpeg[at + 1] as number;
    const length = jpeg.readUInt16BE(at + 2);
    out.push({ marker, at, body: jpeg.subarray(at + 4, at + 2 + length) });
    if (marker === 0xda) break;
    at += 2 + length;
  }
  return out;
}

export function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/** A PNG's chunks (type and data). */
export function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = png.readUInt32BE(at);
    out.push({ type: png.toString('latin1', at + 4, at + 8), data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** A PNG with an ICC profile, an eXIf chunk (GPS, orientation, maker note) and an XMP iTXt chunk. */
export async function pngWithLocation(): Promise<Buffer> {
  const plain = await gradient().withIccProfile('srgb').png().toBuffer();
  const chunks = pngChunks(plain);
  const idat = chunks.findIndex((c) => c.type === 'IDAT');
  const xmp = Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), xmpPacket()]);
  const withMetadata = [
    ...chunks.slice(0, idat),
    { type: 'eXIf', data: exifTiff() },
    { type: 'iTXt', data: xmp },
    ...chunks.slice(idat),
  ];
  return Buffer.concat([plain.subarray(0, 8), ...withMetadata.map((c) => pngChunk(c.type, c.data))]);
}

/** A PNG whose XMP (with a place) is compressed: cleaned, it is stored uncompressed, so the file grows. */
export async function pngWithCompressedXmp(): Promise<Buffer> {
  const plain = await gradient().png().toBuffer();
  const chunks = pngChunks(plain);
  const idat = chunks.findIndex((c) => c.type === 'IDAT');
  const xmp = Buffer.concat([
    Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0', 'latin1'),
    deflateSync(xmpPacket()),
  ]);
  const withXmp = [...chunks.slice(0, idat), { type: 'iTXt', data: xmp }, ...chunks.slice(idat)];
  return Buffer.concat([plain.subarray(0, 8), ...withXmp.map((c) => pngChunk(c.type, c.data))]);
}

function riffChunk(type: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(type, 0, 'latin1');
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data, Buffer.alloc(data.length & 1)]);
}

/** A WebP's chunks (type and data) after the RIFF header. */
export function webpChunks(webp: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let at = 12; at + 8 <= webp.length; ) {
    const size = webp.readUInt32LE(at + 4);
    out.push({ type: webp.toString('latin1', at, at + 4), data: webp.subarray(at + 8, at + 8 + size) });
    at += 8 + size + (size & 1);
  }
  return out;
}

/** An extended WebP (VP8X) with its lossy image, an EXIF chunk and an XMP chunk. */
export async function webpWithLocation(): Promise<Buffer> {
  const plain = await gradient().webp({ quality: 80 }).toBuffer();
  const image = webpChunks(plain).find((c) => c.type === 'VP8 ' || c.type === 'VP8L');
  if (!image) throw new Error('sharp made a WebP without an image chunk');
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x08 | 0x04; // EXIF and XMP present
  vp8x.writeUIntLE(96 - 1, 4, 3);
  vp8x.writeUIntLE(64 - 1, 7, 3);
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    riffChunk('VP8X', vp8x),
    riffChunk(image.type, image.data),
    riffChunk('EXIF', exifTiff()),
    riffChunk('XMP ', xmpPacket()),
  ]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

function box(type: string, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

export const ISO6709 = '+53.7428-002.0139+120.000/';
const XMP_UUID = Buffer.from('be7acfcb97a942e89c71999491e3afac', 'hex');

/**
 * A movie's structure with location atoms: `ftyp` (isom for MP4, qt for MOV), `moov` with a movie
 * header, a `udta` holding `©xyz` and `loci`, an XMP `uuid` box, and QuickTime `meta` keys with
 * Apple's location key and a title; then `mdat` with stand-in media bytes.
 */
export function movieWithLocation(kind: 'mp4' | 'mov'): Buffer {
  const brand = kind === 'mp4' ? 'isom' : 'qt  ';
  const ftyp = box('ftyp', Buffer.from(`${brand}\0\0\0\0${brand}`, 'latin1'));
  const mvhd = box('mvhd', Buffer.alloc(100));
  const xyzValue = Buffer.from(ISO6709, 'latin1');
  const xyzHead = Buffer.alloc(4);
  xyzHead.writeUInt16BE(xyzValue.length, 0);
  xyzHead.writeUInt16BE(0x15c7, 2);
  const xyz = box('\u00a9xyz', xyzHead, xyzValue);
  const loci = box(
    'loci',
    Buffer.alloc(4),
    Buffer.from('\u0015\u00c7Hebden Bridge\0', 'latin1'),
    Buffer.alloc(18),
  );
  const key = (name: string) => {
    const entry = Buffer.alloc(8);
    entry.writeUInt32BE(8 + name.length);
    entry.write('mdta', 4, 'latin1');
    return Buffer.concat([entry, Buffer.from(name, 'latin1')]);
  };
  const keys = box(
    'keys',
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]),
    key('com.apple.quicktime.title'),
    key('com.apple.quicktime.location.ISO6709'),
  );
  const value = (index: number, text: string) => {
    const indexType = Buffer.alloc(4);
    indexType.writeUInt32BE(index);
    const item = box('data', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]), Buffer.from(text, 'latin1'));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(8 + item.length);
    return Buffer.concat([header, indexType, item]);
  };
  const ilst = box('ilst', value(1, 'Our assembly'), value(2, ISO6709));
  const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdta', 'latin1'), Buffer.alloc(13));
  const meta = box('meta', hdlr, keys, ilst);
  const xmp = box('uuid', XMP_UUID, xmpPacket());
  const moov = box('moov', mvhd, box('udta', xyz, loci), xmp, meta);
  const mdat = box('mdat', Buffer.from('stand-in media data '.repeat(200), 'latin1'));
  return Buffer.concat([ftyp, moov, mdat]);
}

const fullBox = (type: string, version: number, ...children: Buffer[]) =>
  box(type, Buffer.from([version, 0, 0, 0]), ...children);

/**
 * A HEIF image's structure as phones write it: `ftyp` heic, a `meta` with an item index (a stand-in
 * coded image and an `Exif` item with GPS, orientation and a maker note) and their locations, then
 * `mdat` holding both. `dataFirst` puts `mdat` before `meta`, as a few writers do.
 */
export function heicWithLocation(options: { dataFirst?: boolean } = {}): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic\0\0\0\0mif1heic', 'latin1'));
  const image = Buffer.from('stand-in coded image '.repeat(50), 'latin1');
  const exifItem = Buffer.concat([Buffer.from([0, 0, 0, 6]), Buffer.from('Exif\0\0', 'latin1'), exifTiff()]);
  const infe = (id: number, type: string) => {
    const body = Buffer.alloc(8);
    body.writeUInt16BE(id, 0);
    body.write(type, 4, 'latin1');
    return fullBox('infe', 2, body, Buffer.from([0]));
  };
  const meta = (imageAt: number, exifAt: number) => {
    const iloc = Buffer.alloc(4 + 2 + 2 * 14);
    iloc[0] = 0x44; // offsets and lengths of 4 bytes
    iloc[1] = 0x00; // no base offset
    iloc.writeUInt16BE(2, 2);
    [
      [1, imageAt, image.length],
      [2, exifAt, exifItem.length],
    ].forEach(([id, offset, length], i) => {
      const at = 4 + i * 14;
      iloc.writeUInt16BE(id as number, at);
      iloc.writeUInt16BE(0, at + 2);
      iloc.writeUInt16BE(1, at + 4);
      iloc.writeUInt32BE(offset as number, at + 6);
      iloc.writeUInt32BE(length as number, at + 10);
    });
    return fullBox(
      'meta',
      0,
      fullBox('hdlr', 0, Buffer.alloc(4), Buffer.from('pict', 'latin1'), Buffer.alloc(13)),
      fullBox('iinf', 0, Buffer.from([0, 2]), infe(1, 'hvc1'), infe(2, 'Exif')),
      fullBox('iloc', 0, iloc.subarray(0, 2), iloc.subarray(2)),
    );
  };
  const mdat = box('mdat', image, exifItem);
  const metaLength = meta(0, 0).length;
  const mdatAt = options.dataFirst ? ftyp.length : ftyp.length + metaLength;
  const built = meta(mdatAt + 8, mdatAt + 8 + image.length);
  return Buffer.concat(options.dataFirst ? [ftyp, mdat, built] : [ftyp, built, mdat]);
}

/** A GIF made by sharp with an XMP application extension (and its magic trailer) after its colour table. */
export async function gifWithXmp(): Promise<Buffer> {
  const plain = await gradient(16, 16).gif().toBuffer();
  const flags = plain[10] as number;
  const headerEnd = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  const trailer = Buffer.from([1, ...Array.from({ length: 256 }, (_, i) => 255 - i), 0]);
  const extension = Buffer.concat([
    Buffer.from([0x21, 0xff, 11]),
    Buffer.from('XMP DataXMP', 'latin1'),
    xmpPacket(),
    trailer,
  ]);
  return Buffer.concat([plain.subarray(0, headerEnd), extension, plain.subarray(headerEnd)]);
}
