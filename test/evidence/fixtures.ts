import { randomBytes } from 'node:crypto';
import { type ClientRequest, request } from 'node:http';
import { crc32 } from 'node:zlib';
import { buildZip } from '../helpers/zip.ts';

/** Small valid files of each kind, built in code so no binary fixtures are committed. */

export function pdf(note = 'evidence'): Buffer {
  return Buffer.from(
    `%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n% ${note}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n`,
  );
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 1×1 PNG; `seed` changes its bytes (an extra text chunk) so several distinct files can be made. */
export function png(seed = ''): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
  const idat = Buffer.from('789c626000000000050001', 'hex');
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(seed ? [pngChunk('tEXt', Buffer.from(`Comment\0${seed}`))] : []),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The frame of a JPEG (start of image, a JFIF header, a comment, end of image); `seed` changes its bytes. */
export function jpeg(seed = ''): Buffer {
  const comment = Buffer.from(seed || 'photo');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(comment.length + 2);
  return Buffer.concat([
    Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'),
    Buffer.from([0xff, 0xfe]),
    length,
    comment,
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** A zip archive with stored (uncompressed) entries, in the given order. */
export function zip(entries: { name: string; content: string | Buffer }[]): Buffer {
  return buildZip(entries);
}

const CONTENT_TYPES = (main: string) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="${main}"/></Types>`;

export function docx(): Buffer {
  return zip([
    {
      name: '[Content_Types].xml',
      content: CONTENT_TYPES(
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml',
      ),
    },
    { name: '_rels/.rels', content: '<?xml version="1.0"?><Relationships/>' },
    { name: 'word/document.xml', content: '<?xml version="1.0"?><w:document/>' },
  ]);
}

export function odt(): Buffer {
  return zip([
    { name: 'mimetype', content: 'application/vnd.oasis.opendocument.text' },
    { name: 'content.xml', content: '<?xml version="1.0"?><office:document-content/>' },
  ]);
}

export function plainZip(): Buffer {
  return zip([{ name: 'notes.txt', content: 'hello' }]);
}

/** The start of a Windows executable. */
export function exe(): Buffer {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ', 0, 'ascii');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'binary');
  return bytes;
}

/** UTF-8 text of exactly `size` bytes, distinct per `seed`. */
export function text(size: number, seed = randomBytes(4).toString('hex')): Buffer {
  const line = `Evidence note ${seed}: our pupils led the Refugee Week assembly. `;
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

export type FormPart =
  | { name: string; value: string }
  | { name: string; filename: string; content: Buffer; contentType?: string };

/** A multipart/form-data body built by hand, as a browser or curl would send it. */
export function multipart(parts: FormPart[], boundary = `----sanctuary${randomBytes(8).toString('hex')}`) {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('value' in part) {
      chunks.push(
        Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`),
      );
    } else {
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        part.content,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

// Uploads over a real socket, for what `inject` cannot do: cut a body short, drop a connection.

/** A whole multipart upload to the server on `port`, answered as status, JSON body and headers. */
export function uploadOverSocket(
  port: number,
  token: string,
  applicationId: string,
  parts: FormPart[],
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const { body, contentType } = multipart(parts);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/applications/${applicationId}/evidence`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': contentType,
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()),
            headers: res.headers,
          }),
        );
      },
    );
    // The server may close the connection before it has read the whole body of a refused upload.
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts an upload to the server on `port` and sends only the first `sentBytes` of the body, leaving
 * the request open: the test then drops the connection or kills the server mid-body.
 */
export function sendPartOfUpload(
  port: number,
  token: string,
  applicationId: string,
  upload: { body: Buffer; contentType: string },
  sentBytes: number,
): ClientRequest {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: `/applications/${applicationId}/evidence`,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': upload.contentType,
      'content-length': upload.body.length,
    },
  });
  req.on('error', () => {}); // the connection is cut on purpose
  req.write(upload.body.subarray(0, sentBytes));
  return req;
}

/** Polls `condition` until it holds; throws, naming `what`, after `timeoutMs`. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
