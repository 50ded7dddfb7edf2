import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import sharp from 'sharp';
import { buildApp } from '../../src/app.ts';
import { stripLocation } from '../../src/evidence/location/index.ts';
import type { TestApp } from '../helpers/app.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import {
  exifTiff,
  gifWithXmp,
  heicWithLocation,
  ISO6709,
  jpegImageData,
  jpegSegments,
  jpegWithLocation,
  MAKER_NOTE,
  movieWithLocation,
  PLACE,
  pngChunk,
  pngChunks,
  pngWithLocation,
  webpChunks,
  webpWithLocation,
  xmpPacket,
} from '../helpers/photos.ts';
import { useWorld } from '../helpers/setup.ts';
import type { Actor, World } from '../helpers/world.ts';
import { multipart } from './fixtures.ts';

async function upload(t: TestApp, actor: Actor, applicationId: string, filename: string, content: Buffer) {
  const { body, contentType } = multipart([
    { name: 'criteria', value: 'L1' },
    { name: 'file', filename, content },
  ]);
  const res = await t.app.inject({
    method: 'POST',
    url: `/applications/${applicationId}/evidence`,
    headers: { authorization: `Bearer ${actor.token}`, 'content-type': contentType },
    payload: body,
  });
  expect(res.statusCode).toBe(201);
  return JSON.parse(res.body).items[0];
}

async function download(t: TestApp, actor: Actor, applicationId: string, evidenceId: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `/applications/${applicationId}/evidence/${evidenceId}/content`,
    headers: { authorization: `Bearer ${actor.token}` },
  });
  expect(res.statusCode).toBe(200);
  return res.rawPayload;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const has = (bytes: Buffer, text: string) => bytes.includes(Buffer.from(text, 'latin1'));

/** The tags of an EXIF block's first directory and of its Exif directory (big- or little-endian). */
function exifTags(tiff: Buffer): { ifd0: number[]; exif: number[] } {
  const le = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const tags = (ifd: number) => Array.from({ length: u16(ifd) }, (_, i) => u16(ifd + 2 + i * 12));
  const ifd0 = u32(4);
  const ifd0Tags = tags(ifd0);
  const exifIndex = ifd0Tags.indexOf(0x8769);
  const exifIfd = exifIndex >= 0 ? u32(ifd0 + 2 + exifIndex * 12 + 8) : null;
  return { ifd0: ifd0Tags, exif: exifIfd ? tags(exifIfd) : [] };
}

/** What any cleaned photo must show: no GPS, no maker note, no place, the orientation and the rest kept. */
function expectCleanExif(tiff: Buffer) {
  const tags = exifTags(tiff);
  expect(tags.ifd0).not.toContain(0x8825);
  expect(tags.ifd0).toEqual(expect.arrayContaining([0x0112, 0x0131, 0x8769]));
  expect(tags.exif).toEqual([0x9003]);
  expect(has(tiff, MAKER_NOTE)).toBe(false);
  expect(has(tiff, 'Sanctuary camera 1.0')).toBe(true);
}

function expectCleanXmp(xmp: Buffer) {
  const text = xmp.toString('utf8');
  expect(text).not.toContain(PLACE);
  expect(text).not.toMatch(/GPS(Latitude|Longitude)/);
  expect(text).not.toContain('United Kingdom');
  expect(text).toContain('xmp:CreatorTool="Sanctuary camera 1.0"');
  expect(text).toContain('<?xpacket end="w"?>');
}

describe('location data is removed from photos and videos as they are stored', () => {
  const { t, w } = useWorld();
  const draft = () => draftOfNewSchool(t.database.db, w, 'Location');

  it('a JPEG: GPS, maker note, XMP and IPTC places go; orientation, ICC profile and image data stay', async () => {
    const applicationId = await draft();
    const original = await jpegWithLocation();
    const item = await upload(t, w.applicantA, applicationId, 'garden.jpg', original);
    const stored = await download(t, w.applicantA, applicationId, item.id);

    expect(item.metadataRemoved).toEqual(['gps', 'iptc-location', 'makernotes', 'xmp-location']);
    expect(item.locationNotRemoved).toEqual([]);
    expect(item.sha256).toBe(sha256(stored));
    expect(item.size).toBe(stored.length);
    // Edited in place: the same length, and the image data byte for byte.
    expect(stored.length).toBe(original.length);
    expect(jpegImageData(stored).equals(jpegImageData(original))).toBe(true);
    const segments = jpegSegments(stored);
    const icc = (s: ReturnType<typeof jpegSegments>) => s.find((x) => x.marker === 0xe2)?.body;
    expect(icc(segments)?.equals(icc(jpegSegments(original)) as Buffer)).toBe(true);
    const exif = segments.find((s) => s.marker === 0xe1 && has(s.body.subarray(0, 6), 'Exif'));
    expectCleanExif((exif as { body: Buffer }).body.subarray(6));
    const xmp = segments.find((s) => s.marker === 0xe1 && has(s.body.subarray(0, 30), 'ns.adobe.com'));
    expectCleanXmp((xmp as { body: Buffer }).body);
    const iptc = segments.find((s) => s.marker === 0xed) as { body: Buffer };
    expect(has(iptc.body, PLACE)).toBe(false);
    expect(has(iptc.body, 'Our sanctuary garden')).toBe(true);

    const [before, after] = await Promise.all([sharp(original).metadata(), sharp(stored).metadata()]);
    expect(after.orientation).toBe(6);
    expect(after.icc?.equals(before.icc as Buffer)).toBe(true);
    const pixels = async (b: Buffer) => sharp(b).raw().toBuffer();
    expect((await pixels(stored)).equals(await pixels(original))).toBe(true);

    const [line] = await t.database.db
      .selectFrom('application_events')
      .select('payload')
      .where('application_id', '=', applicationId)
      .where('type', '=', 'EVIDENCE_UPLOADED')
      .execute();
    expect(line?.payload).toMatchObject({
      evidenceId: item.id,
      metadataRemoved: ['gps', 'iptc-location', 'makernotes', 'xmp-location'],
    });
  });

  it('a PNG: the eXIf chunk and the XMP text lose their location; IDAT and iCCP stay', async () => {
    const applicationId = await draft();
    const original = await pngWithLocation();
    const item = await upload(t, w.applicantA, applicationId, 'poster.png', original);
    const stored = await download(t, w.applicantA, applicationId, item.id);
    expect(item.metadataRemoved).toEqual(['gps', 'makernotes', 'xmp-location']);
    expect(item.sha256).toBe(sha256(stored));
    const chunks = pngChunks(stored);
    const of = (list: typeof chunks, type: string) =>
      Buffer.concat(list.filter((c) => c.type === type).map((c) => c.data));
    expect(of(chunks, 'IDAT').equals(of(pngChunks(original), 'IDAT'))).toBe(true);
    expect(of(chunks, 'iCCP').equals(of(pngChunks(original), 'iCCP'))).toBe(true);
    expectCleanExif(of(chunks, 'eXIf'));
    expectCleanXmp(of(chunks, 'iTXt'));
    // Every chunk's CRC is right, or a decoder would refuse the file.
    const meta = await sharp(stored).metadata();
    expect(meta.orientation).toBe(6);
    expect((await sharp(stored).raw().toBuffer()).equals(await sharp(original).raw().toBuffer())).toBe(true);
  });

  it('a WebP: the EXIF and XMP chunks are cleaned in place, the RIFF sizes stay right', async () => {
    const applicationId = await draft();
    const original = await webpWithLocation();
    const item = await upload(t, w.applicantA, applicationId, 'mural.webp', original);
    const stored = await download(t, w.applicantA, applicationId, item.id);
    expect(item.metadataRemoved).toEqual(['gps', 'makernotes', 'xmp-location']);
    expect(stored.length).toBe(original.length);
    const chunks = webpChunks(stored);
    expect(chunks.map((c) => c.type)).toEqual(['VP8X', 'VP8 ', 'EXIF', 'XMP ']);
    expect(chunks[1]?.data.equals(webpChunks(original)[1]?.data as Buffer)).toBe(true);
    expectCleanExif(chunks[2]?.data as Buffer);
    expectCleanXmp(chunks[3]?.data as Buffer);
    expect((await sharp(stored).metadata()).orientation).toBe(6);
  });

  it.each(['mp4', 'mov'] as const)(
    'a %s: ©xyz, loci and the Apple location key become free atoms, XMP is blanked',
    async (kind) => {
      const applicationId = await draft();
      const original = movieWithLocation(kind);
      const item = await upload(t, w.applicantA, applicationId, `assembly.${kind}`, original);
      const stored = await download(t, w.applicantA, applicationId, item.id);
      expect(item.mediaType).toBe(kind === 'mp4' ? 'video/mp4' : 'video/quicktime');
      expect(item.metadataRemoved).toEqual(['video-location', 'xmp-location']);
      expect(item.locationNotRemoved).toEqual([]);
      expect(item.sha256).toBe(sha256(stored));
      // No offset moved: the same length, the media data untouched, only atom types and XMP text changed.
      expect(stored.length).toBe(original.length);
      const mdat = (b: Buffer) => b.subarray(b.indexOf('mdat'));
      expect(mdat(stored).equals(mdat(original))).toBe(true);
      expect(has(stored, '\u00a9xyz')).toBe(false);
      expect(has(stored, 'loci')).toBe(false);
      expect(has(stored, PLACE)).toBe(false);
      // The value under Apple's location key is gone (its atom is free and zeroed); the title stays.
      expect(has(stored, ISO6709)).toBe(false);
      expect(has(stored, 'com.apple.quicktime.location.ISO6709')).toBe(true);
      expect(has(stored, 'Our assembly')).toBe(true);
      const ilst = stored.indexOf('ilst');
      expect(stored.indexOf('free', ilst)).toBeGreaterThan(stored.indexOf('Our assembly'));
    },
  );

  it('a HEIC: the Exif item after the item index is cleaned as it streams past; one before it is reported left', async () => {
    const applicationId = await draft();
    const original = heicWithLocation();
    const item = await upload(t, w.applicantA, applicationId, 'IMG_0001.heic', original);
    const stored = await download(t, w.applicantA, applicationId, item.id);
    expect(item.mediaType).toBe('image/heic');
    expect(item.metadataRemoved).toEqual(['gps', 'makernotes']);
    expect(item.locationNotRemoved).toEqual([]);
    expect(stored.length).toBe(original.length);
    const tiffAt = stored.lastIndexOf('Exif\0\0') + 6;
    expectCleanExif(stored.subarray(tiffAt));
    const image = (b: Buffer) => b.subarray(b.indexOf('stand-in'), b.lastIndexOf('Exif\0\0') - 4);
    expect(image(stored).equals(image(original))).toBe(true);

    const dataFirst = await upload(
      t,
      w.applicantA,
      applicationId,
      'IMG_0002.heic',
      heicWithLocation({ dataFirst: true }),
    );
    expect(dataFirst.metadataRemoved).toEqual([]);
    expect(dataFirst.locationNotRemoved).toEqual(['heif-exif-before-index']);
  });

  it('a GIF: the XMP extension is dropped, the frames stay', async () => {
    const applicationId = await draft();
    const original = await gifWithXmp();
    const item = await upload(t, w.applicantA, applicationId, 'banner.gif', original);
    const stored = await download(t, w.applicantA, applicationId, item.id);
    expect(item.metadataRemoved).toEqual(['xmp']);
    expect(has(stored, 'XMP DataXMP')).toBe(false);
    expect(has(stored, PLACE)).toBe(false);
    expect(stored.length).toBeLessThan(original.length);
    expect((await sharp(stored).raw().toBuffer()).equals(await sharp(original).raw().toBuffer())).toBe(true);
  });

  it('two uploads of one photo with different positions are one file once cleaned; a different GPS layout is not', async () => {
    const applicationId = await draft();
    const first = await upload(
      t,
      w.applicantA,
      applicationId,
      'a.jpg',
      await jpegWithLocation({ latitude: 53.7 }),
    );
    const second = await upload(
      t,
      w.applicantA,
      applicationId,
      'b.jpg',
      await jpegWithLocation({ latitude: 51.5 }),
    );
    expect(second.id).toBe(first.id);
    // One more GPS field moves what follows it in the EXIF block: the cleaned bytes differ, so two files.
    const third = await upload(
      t,
      w.applicantA,
      applicationId,
      'c.jpg',
      await jpegWithLocation({ altitude: true }),
    );
    expect(third.id).not.toBe(first.id);
    expect(third.metadataRemoved).toContain('gps');
  });

  it('files without location pass unchanged: a PDF, and a JPEG whose EXIF holds none', async () => {
    const applicationId = await draft();
    const pdf = Buffer.from('%PDF-1.4\n% minutes\n%%EOF\n');
    const pdfItem = await upload(t, w.applicantA, applicationId, 'minutes.pdf', pdf);
    expect(pdfItem.metadataRemoved).toEqual([]);
    expect((await download(t, w.applicantA, applicationId, pdfItem.id)).equals(pdf)).toBe(true);
    expect(exifTiff().length).toBeGreaterThan(0);
  });
});

describe('the cleaning streams', () => {
  async function clean(bytes: Buffer, chunkSize: number) {
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
    }
    const cleaning = stripLocation(chunks());
    const out: Buffer[] = [];
    for await (const chunk of cleaning.stream) out.push(Buffer.from(chunk));
    return { bytes: Buffer.concat(out), ...cleaning.result() };
  }

  it('gives the same bytes whatever the chunks the upload arrives in', async () => {
    for (const original of [
      await jpegWithLocation(),
      await pngWithLocation(),
      await webpWithLocation(),
      movieWithLocation('mov'),
    ]) {
      const whole = await clean(original, original.length);
      expect(whole.removed.length).toBeGreaterThan(0);
      for (const size of [1, 7, 4096])
        expect((await clean(original, size)).bytes.equals(whole.bytes)).toBe(true);
    }
  });

  it('a PNG with compressed XMP and a legacy raw EXIF profile: the XMP is stored uncompressed and blanked, the profile dropped', async () => {
    const plain = await pngWithLocation();
    const chunks = pngChunks(plain).filter((c) => c.type !== 'eXIf' && c.type !== 'iTXt');
    const compressedXmp = Buffer.concat([
      Buffer.from('XML:com.adobe.xmp\0\x01\0\0\0', 'latin1'),
      deflateSync(xmpPacket()),
    ]);
    const rawProfile = Buffer.concat([
      Buffer.from('Raw profile type exif\0\0', 'latin1'),
      deflateSync(Buffer.from(`\nexif\n${exifTiff().length}\n${exifTiff().toString('hex')}\n`)),
    ]);
    const idat = chunks.findIndex((c) => c.type === 'IDAT');
    const withBoth = Buffer.concat([
      plain.subarray(0, 8),
      ...chunks.slice(0, idat).map((c) => pngChunk(c.type, c.data)),
      pngChunk('iTXt', compressedXmp),
      pngChunk('zTXt', rawProfile),
      ...chunks.slice(idat).map((c) => pngChunk(c.type, c.data)),
    ]);
    const cleaned = await clean(withBoth, 1000);
    expect(cleaned.removed).toEqual(['raw-profile', 'xmp-location']);
    const out = pngChunks(cleaned.bytes);
    expect(out.map((c) => c.type)).not.toContain('zTXt');
    const xmp = out.find((c) => c.type === 'iTXt')?.data as Buffer;
    expect(xmp[18]).toBe(0); // no longer compressed
    expectCleanXmp(xmp);
    expect((await sharp(cleaned.bytes).raw().toBuffer()).equals(await sharp(plain).raw().toBuffer())).toBe(
      true,
    );
  });

  it('never fails on a broken file: a cut EXIF block is zeroed, a movie header past the end is left', async () => {
    const truncated = (await jpegWithLocation()).subarray(0, 40);
    const result = await clean(truncated, 5);
    expect(result.bytes.length).toBe(truncated.length);
    expect(result.removed).toEqual(['exif']);
    const brokenMovie = movieWithLocation('mp4');
    brokenMovie.writeUInt32BE(0xffffff, brokenMovie.indexOf('moov') - 4); // more than the file holds
    expect((await clean(brokenMovie, 100)).bytes.equals(brokenMovie)).toBe(true);
  });
});

/** Collects what an app logs, line by line. */
function logLines() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, stream };
}

describe('with EVIDENCE_STRIP_LOCATION=false', () => {
  const { t, w } = useWorld({ EVIDENCE_STRIP_LOCATION: 'false' });

  it('photos are stored exactly as sent, and the item says no removal was made', async () => {
    const applicationId = await draftOfNewSchool(t.database.db, w as World, 'Off');
    const original = await jpegWithLocation();
    const item = await upload(t, w.applicantA, applicationId, 'garden.jpg', original);
    expect(item.metadataRemoved).toBeNull();
    expect((await download(t, w.applicantA, applicationId, item.id)).equals(original)).toBe(true);
    expect(item.sha256).toBe(sha256(original));
  });

  it('the start-up log says so', async () => {
    const log = logLines();
    const app = await buildApp({
      config: t.config,
      database: t.database,
      logger: { level: 'info', stream: log.stream },
    });
    await app.ready();
    await app.close();
    expect(log.lines).toContainEqual(
      expect.objectContaining({ msg: 'location data is NOT removed from uploaded photos and videos' }),
    );
  });
});
