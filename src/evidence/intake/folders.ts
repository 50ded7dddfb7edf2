import { validationFailed } from '../../domain/errors.ts';
import { criteriaOfSet } from '../repository.ts';
import { type FolderMapper, folderMapper, SYSTEM_FILE } from '../zip.ts';
import type { Intake } from './context.ts';

/**
 * Browser folder uploads (SPEC §6): `<input type=file webkitdirectory>` sends each file with its path
 * relative to the chosen folder as its name (`Evidence/L1/photo 1.jpg`). Its folders file it the way a
 * zip's top folders file an entry: a criterion code (`L1`) or a process name (`Learn`), any case, the
 * chosen folder itself looked through when it names neither. Only the folders are read from the path;
 * the file is stored under its base name.
 */

/** The folders of a name sent with a relative path, cleaned; null for a plain file name. */
export function folderPath(raw: string | undefined): { path: string; folders: string[] } | null {
  if (!raw || !/[/\\]/.test(raw)) return null;
  const segments = raw
    .normalize('NFC')
    .replace(/[\p{Cc}]/gu, '')
    .split(/[/\\]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '.');
  if (segments.includes('..') || /^[/\\]/.test(raw) || /^[A-Za-z]:/.test(raw)) {
    throw validationFailed(`The file "${raw}" is refused: its path climbs out of the folder or is absolute`, [
      { path: 'body.files', message: 'path traversal' },
    ]);
  }
  if (segments.length < 2) return null;
  return { path: segments.join('/'), folders: segments.slice(0, -1) };
}

/** A file the operating system adds to a folder (`.DS_Store`, `Thumbs.db` …): never evidence. */
export const isSystemFile = (path: string) => SYSTEM_FILE.test(path);

/**
 * The criteria a file's folders name: its top folder, or (when the top folder is the chosen folder
 * and names nothing) the next one down; null when neither names a criterion or a process.
 */
export function criteriaOfFolders(folders: string[], mapFolder: FolderMapper): string[] | null {
  const [top, next] = folders;
  if (top === undefined) return null;
  return mapFolder(top) ?? (next === undefined ? null : mapFolder(next));
}

/** The folder mapper of an upload's application: its criteria, by code and by process (read once). */
export function folderMapperFor(intake: Intake): () => Promise<FolderMapper> {
  let mapper: Promise<FolderMapper> | undefined;
  return () => {
    mapper ??= criteriaOfSet(intake.deps.db, intake.criteriaSetId).then((criteria) =>
      folderMapper(criteria.filter((c) => intake.criteriaCodes.includes(c.code))),
    );
    return mapper;
  };
}
