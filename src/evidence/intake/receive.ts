import { ObjectTooLargeError, type PendingObject } from '../../storage/store.ts';
import { type LocationCleaning, stripLocation } from '../location/index.ts';
import { inspectMediaType, refuseActiveName, storedFilename } from '../media-types.ts';
import type { Intake } from './context.ts';
import { sanitiseFilename } from './filenames.ts';
import type { IncomingFile } from './incoming.ts';
import { applicationFull, fileTooLarge } from './limits.ts';

/** A file whose bytes are in a pending object, measured, hashed and typed; not yet filed. */
export type ReceivedBytes = {
  object: PendingObject;
  /** The safe name it is stored under, ending in an extension of its detected type. */
  filename: string;
  /** Detected from the bytes; empty for an empty file. */
  mediaType: string;
  size: number;
  sha256: string;
  /** What was removed for safeguarding (SPEC §6); null when removal is turned off. */
  location: LocationCleaning | null;
};

/** A received file and the criteria it is filed under. */
export type ReceivedFile = ReceivedBytes & {
  criteria: string[];
  /** Where it was inside an uploaded zip archive. */
  archivePath?: string;
};

/**
 * Receives one file into a pending object of the store, under the per-file limit and what is left
 * of the application's. A name that promises markup or code is refused before a byte is read; the
 * type is decided from the first bytes on the way (a refused type, or text under a name that is not a
 * text name, stops the stream then and there) and the file is hashed as it is written. The name it
 * is stored under ends in its type's extension (SPEC §6). Location data is removed from photos and
 * videos on the way, before the hash: what is stored, hashed and compared for duplicates is the
 * cleaned file. `shownName` names the file in problems (a
 * zip entry's path); by default its safe name. An empty file is received too: what it means is the
 * caller's decision.
 */
export async function receiveFile(
  intake: Intake,
  incoming: IncomingFile,
  shownName?: string,
): Promise<ReceivedBytes> {
  const { store, limits } = intake.deps;
  const filename = sanitiseFilename(incoming.filename);
  const shown = shownName ?? filename;
  refuseActiveName(filename, shown);
  const object = incoming.adopted ?? (await store.begin());
  intake.pending.push(object);
  const inspection = inspectMediaType(incoming.stream, { filename, shown });
  const cleaning = intake.deps.stripLocation ? stripLocation(inspection.stream) : null;
  const allowance = limits.maxApplicationBytes - intake.bytesSoFar;
  let written: { size: number; sha256: string };
  try {
    written = await object.write(cleaning?.stream ?? inspection.stream, {
      maxBytes: Math.min(limits.maxFileBytes, allowance),
    });
  } catch (err) {
    if (err instanceof ObjectTooLargeError) {
      if (allowance < limits.maxFileBytes) throw applicationFull(limits, intake.bytesBefore);
      throw fileTooLarge(shown, limits);
    }
    throw err;
  }
  // A door may stop a file at its own size limit and flag it: known only once the stream was read.
  if (incoming.truncated()) throw fileTooLarge(shown, limits);
  intake.bytesSoFar += written.size;
  const mediaType = inspection.result();
  return {
    object,
    filename: storedFilename(filename, mediaType),
    mediaType,
    ...written,
    location: cleaning?.result() ?? null,
  };
}
