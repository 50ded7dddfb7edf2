import type { FastifyMultipartOptions, Multipart, MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { DomainError, validationFailed } from '../domain/errors.ts';
import type { IncomingFile, IncomingUpload, OpenUpload } from './intake/incoming.ts';
import { tooLarge, tooManyFiles, type UploadLimits } from './intake/limits.ts';

/**
 * The parser's options for an evidence upload, the same for the API and a page's form. A folder's files
 * arrive named by their relative paths (`preservePath`), which the intake files by their folders. A zip
 * of evidence folders may be larger than one file: each file's own limit is enforced while it streams.
 * `fileInputs`: how many file fields a form has (an empty file input still sends one empty part).
 */
export function multipartOptions(
  config: Pick<Config, 'limits' | 'zipLimits'>,
  fileInputs = 1,
): FastifyMultipartOptions {
  const { limits, zipLimits } = config;
  return {
    preservePath: true,
    limits: {
      fileSize: Math.max(limits.maxFileBytes, zipLimits.maxZipBytes),
      files: limits.maxFilesPerRequest,
      fields: 5,
      fieldSize: 64 * 1024,
      parts: limits.maxFilesPerRequest * fileInputs + 5,
      headerPairs: 50,
    },
  };
}

/**
 * An `onSend` hook for upload routes: a refused request may still be sending its body, so close the
 * connection rather than read the rest of a large upload, and stop waiting for it so the socket is not
 * held half-read.
 */
export async function closeUnreadUpload(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (!request.raw.complete) {
    reply.header('Connection', 'close');
    request.raw.unpipe();
    request.raw.resume();
  }
  return payload;
}

/**
 * The multipart door onto the evidence intake (SPEC §5): a `criteria` field first, then the files.
 * Registered with `preservePath`, so a browser's folder upload keeps each file's relative path as its
 * name (the intake files it by its folders, see ./intake/folders.ts).
 * Turns @fastify/multipart's parts into an `IncomingUpload` and its parser's errors into problems.
 *
 * Two pitfalls of the parser shape this: a file over busboy's `fileSize` is only known to be cut short
 * once its stream was read (`truncated`, asked by the intake after reading), and busboy holds the next
 * part until the current file was read, so a file its reader left untouched is drained here.
 */
export function multipartUpload(
  parts: AsyncIterable<Multipart>,
  limits: UploadLimits,
  options: { criteriaAreDefault?: boolean } = {},
): OpenUpload {
  return async (): Promise<IncomingUpload> => {
    const iterator = parts[Symbol.asyncIterator]();
    const first = await nextPart(iterator, limits);
    const rest = { criteriaAreDefault: options.criteriaAreDefault ?? false };
    if (first?.type === 'field') {
      return { criteria: criteriaField(first), files: fileParts(iterator, null, limits), ...rest };
    }
    return { criteria: undefined, files: fileParts(iterator, first, limits), ...rest };
  };
}

/** The value of the `criteria` field; any other field is refused. */
function criteriaField(part: MultipartValue): string {
  if (part.fieldname !== 'criteria') {
    throw validationFailed(`Unknown form field "${part.fieldname}": send "criteria", then the files`);
  }
  return String(part.value ?? '');
}

async function* fileParts(
  iterator: AsyncIterator<Multipart>,
  first: MultipartFile | null,
  limits: UploadLimits,
): AsyncGenerator<IncomingFile> {
  let part = first ?? (await nextPart(iterator, limits));
  while (part) {
    if (part.type === 'field') {
      criteriaField(part);
      throw validationFailed('Send the criteria field once, before the files');
    }
    const file = part.file;
    // A form's file input left empty still sends a part, with no name and no bytes: nothing was chosen.
    if (part.filename === '') {
      file.resume();
      part = await nextPart(iterator, limits);
      continue;
    }
    yield {
      filename: part.filename,
      stream: withProblems(file, limits),
      truncated: () => file.truncated,
    };
    if (!file.readableEnded && !file.destroyed) file.resume();
    part = await nextPart(iterator, limits);
  }
}

async function nextPart(iterator: AsyncIterator<Multipart>, limits: UploadLimits): Promise<Multipart | null> {
  try {
    const next = await iterator.next();
    return next.done ? null : next.value;
  } catch (err) {
    throw multipartProblem(err, limits);
  }
}

/** A file's bytes, with the parser's errors (a body cut short, a malformed part) as problems. */
async function* withProblems(
  source: AsyncIterable<Uint8Array>,
  limits: UploadLimits,
): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (err) {
    throw multipartProblem(err, limits);
  }
}

/** Errors from parsing the multipart stream, as problems; anything else (disk, database) is left as it is. */
function multipartProblem(err: unknown, limits: UploadLimits): unknown {
  if (err instanceof DomainError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_FILES_LIMIT':
      return tooManyFiles(limits);
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(
        `A file is larger than ${limits.maxFileBytes} bytes`,
        'maxFileBytes',
        limits.maxFileBytes,
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new DomainError('payload-too-large', 'The form has too many fields or parts');
    case 'FST_MP_PREMATURE_CLOSE':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNRESET':
      return validationFailed('The upload was cut short before the end of the multipart body');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return err;
  // busboy reports a malformed body with plain errors; system and database errors carry a code.
  if (err instanceof Error && e.code === undefined) {
    return validationFailed(`The multipart body is malformed: ${err.message}`);
  }
  return err;
}
