import type { PendingObject } from '../../storage/store.ts';

/**
 * What a door (the multipart form, later tus or a browser folder) hands the evidence intake: nothing in
 * here knows how the bytes arrived. A door maps its own transport errors to DomainErrors as they
 * surface from `files` or from a file's `stream`.
 */

/** One file as it arrives. */
export type IncomingFile = {
  /** The name the client gave, unchecked (the intake makes it safe); may be missing. */
  filename: string | undefined;
  /**
   * The bytes, read once. A door whose files arrive one after another may hold the next file until
   * this one was read to its end or abandoned.
   */
  stream: AsyncIterable<Uint8Array>;
  /**
   * Whether the door cut the file short at a size limit of its own. Known only once `stream` was read
   * to its end; a door without such a limit answers false.
   */
  truncated(): boolean;
  /**
   * The pending object that already holds these bytes, when the door kept the whole file on the
   * evidence store's own disk (a finished resumable upload: see EvidenceStore.adopt): the file is then
   * filed where it lies, not copied. `stream` must be that object's own reading of the file.
   */
  adopted?: PendingObject;
};

/** An upload: the criteria its files are filed under, then the files. */
export type IncomingUpload = {
  /**
   * Criterion codes as the client named them (comma-separated), or undefined when none were named:
   * then only a folder archive (whose folders name the criteria) can be filed.
   */
  criteria: string | undefined;
  /**
   * Whether `criteria` only file what its folders do not: a file sent with a relative path (a browser
   * folder) whose folder names a criterion or process is filed there. Without criteria such a file is
   * always filed by its folders; with criteria and without this flag, every file is filed under them.
   */
  criteriaAreDefault?: boolean;
  files: AsyncIterable<IncomingFile> | Iterable<IncomingFile>;
};

/**
 * Starts reading an upload. The intake calls it only once the caller may add evidence, so a door never
 * reads a byte of a refused request's body.
 */
export type OpenUpload = () => Promise<IncomingUpload>;
