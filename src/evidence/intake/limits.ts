import type { Config } from '../../config.ts';
import { DomainError } from '../../domain/errors.ts';

/** The problems of an upload over a limit (413), each naming the limit and its value. */

export type UploadLimits = Config['limits'];

export const tooLarge = (detail: string, limit: string, value: number, extra: Record<string, unknown> = {}) =>
  new DomainError('payload-too-large', detail, { limit, limitValue: value, ...extra });

export const tooManyFiles = (limits: UploadLimits) =>
  tooLarge(
    `At most ${limits.maxFilesPerRequest} files can be uploaded in one request`,
    'maxFilesPerRequest',
    limits.maxFilesPerRequest,
  );

export const fileTooLarge = (shownName: string, limits: UploadLimits) =>
  tooLarge(
    `"${shownName}" is larger than the limit of ${limits.maxFileBytes} bytes a file`,
    'maxFileBytes',
    limits.maxFileBytes,
    { filename: shownName },
  );

/** `holds`: the bytes the application held when the upload began, or at the final count. */
export const applicationFull = (limits: UploadLimits, holds: number) =>
  tooLarge(
    `The application's evidence would exceed ${limits.maxApplicationBytes} bytes (it holds ${holds})`,
    'maxApplicationBytes',
    limits.maxApplicationBytes,
  );

export const zipTooLarge = (maxBytes: number) =>
  tooLarge(`A zip archive is larger than the limit of ${maxBytes} bytes`, 'zipMaxBytes', maxBytes);
