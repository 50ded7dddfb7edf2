import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Secrets meant for the person who started the service (the first admin's token; later, sign-in links
 * when no e-mail is configured) never go into the log stream, which a log collector may keep (SPEC §3).
 * On a terminal they are printed there, for that person's eyes. Without one (a service manager, a
 * container, a pipe) they are appended to a file under DATA_DIR that only the service's user can
 * read, and the returned line says where.
 */
export function secretForPerson(dataDir: string, fileName: string, lines: string[]): string[] {
  if (process.stdout.isTTY) return lines;
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, fileName);
  appendFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return [`(not printed here, where logs may be collected: see ${file}, readable only by this user)`];
}
