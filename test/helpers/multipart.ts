import { randomBytes } from 'node:crypto';

export type FilePart = { filename: string; content: Buffer | string; contentType?: string };

/** Builds a multipart/form-data body: fields first (in order), then files under the field `files`. */
export function multipart(
  fields: Record<string, string>,
  files: FilePart[],
): { body: Buffer; contentType: string } {
  const boundary = `----sanctuary${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A small valid PDF whose bytes differ with its label (one builder for every test: fixtures.ts). */
export { pdf } from '../evidence/fixtures.ts';
