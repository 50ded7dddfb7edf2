import { z } from 'zod';
import { EVIDENCE_MEDIA_TYPES } from './media-types.ts';

export const applicationParams = z.strictObject({ id: z.uuid() });
export const evidenceParams = z.strictObject({ id: z.uuid(), eid: z.uuid() });

export const listEvidenceQuery = z.strictObject({
  criterion: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,20}$/, 'a criterion code such as L1')
    .optional()
    .describe('Only evidence filed under this criterion code'),
});

export const evidenceView = z
  .object({
    id: z.uuid(),
    filename: z
      .string()
      .describe('The safe name it is stored under, ending in an extension of its detected media type'),
    mediaType: z.string().describe(`Detected from the bytes; one of ${EVIDENCE_MEDIA_TYPES.join(', ')}`),
    size: z.number().int().describe('Bytes'),
    sha256: z.string().describe('Hex SHA-256 of the bytes; also the download ETag'),
    criteria: z.array(z.string()).describe('Criterion codes this file is evidence for'),
    round: z.number().int().describe('The appraisal round in which it was uploaded'),
    uploadedBy: z.uuid().nullable(),
    createdAt: z.string(),
    fileRemoved: z
      .object({
        at: z.string(),
        reason: z.string().describe('`retention`: removed after the retention period'),
      })
      .nullable()
      .describe('Set when the file itself is gone; the metadata and history stay'),
    metadataRemoved: z
      .array(z.string())
      .nullable()
      .describe(
        'Safeguarding (SPEC §6): what was removed from the file as it was stored. `gps` (EXIF GPS directory), ' +
          "`makernotes` (the camera maker's private EXIF block), `exif` (a whole EXIF block that could not be read), " +
          '`xmp-location` (XMP location and place properties), `xmp` (a whole XMP packet, in GIF), `iptc-location` ' +
          '(IPTC place fields), `raw-profile` (a PNG text chunk holding EXIF/IPTC/XMP in hexadecimal), ' +
          '`video-location` (`©xyz`, `loci`, Apple location keys). Empty: nothing to remove; null: stored ' +
          'without the step (before it existed, or with EVIDENCE_STRIP_LOCATION=false)',
      ),
    locationNotRemoved: z
      .array(z.string())
      .describe(
        'Location data seen but left in the file, and why: `movie-header-too-large` (a movie header over 32 MiB), ' +
          '`heif-exif-before-index`, `heif-exif-item-layout`, `heif-exif-item-missing` (and the same for `xmp`: a HEIF ' +
          'item stored where it cannot be edited as the file streams), `moov-unreadable`, `meta-unreadable`',
      ),
    hasPreview: z
      .boolean()
      .describe(
        'A small WebP preview is at `/applications/{id}/evidence/{eid}/preview` (JPEG, PNG, WebP, GIF)',
      ),
  })
  .meta({ id: 'Evidence' });

export type EvidenceView = z.infer<typeof evidenceView>;

export const evidenceList = z.object({ items: z.array(evidenceView) }).meta({ id: 'EvidenceList' });

export const evidenceUploadResult = z
  .object({
    items: z.array(evidenceView),
    skipped: z
      .array(z.object({ path: z.string(), reason: z.string() }))
      .describe(
        'Entries of an uploaded zip that were not filed (outside criterion folders, system files, empty)',
      ),
  })
  .meta({ id: 'EvidenceUploadResult' });

/**
 * The multipart upload, for the OpenAPI document only: the route parses the stream itself (the body is
 * never buffered), so this schema validates nothing at run time.
 */
export const uploadEvidenceBody = z
  .object({
    criteria: z
      .string()
      .optional()
      .describe(
        'Comma-separated criterion codes, e.g. "L1,E2"; must come before the files. Not needed for a .zip of criterion folders',
      ),
  })
  // The files come in fields of any name, as many as MAX_FILES_PER_REQUEST allows.
  .catchall(z.string().meta({ format: 'binary' }).describe('A file (any field name)'))
  .meta({ id: 'EvidenceUpload' })
  // Multipart bodies are read as a stream by the route, so Fastify sees no parsed body.
  .nullish();
