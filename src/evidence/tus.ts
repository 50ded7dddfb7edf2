import { createHash, type Hash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NodeRequest } from 'srvx/node';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { DomainError, type ErrorCode } from '../domain/errors.ts';
import type { Principal } from '../domain/principal.ts';
import { noteStreamedBytes } from '../storage/streamed-garbage.ts';
import { WriteBehindFile } from '../storage/write-behind.ts';
import type { EvidenceDeps } from './deps.ts';
import {
  beginResumableUpload,
  expiredResumableUploads,
  findResumableUpload,
  finishResumableUpload,
  forgetResumableUpload,
  type ResumableUpload,
} from './resumable.ts';
import type { UploadResult } from './service.ts';

/**
 * The tus 1.0 door onto the evidence intake (creation, core, termination, expiration): @tus/server
 * speaks the protocol and keeps the partial bytes in a directory beside the evidence store's
 * scratch files (`<EVIDENCE_DIR>/.uploads`, also with S3, where only finished files go); our routes
 * authorise each request and decide the rules (./resumable.ts) before tus sees it, and file the
 * finished bytes through the same intake as a multipart file. One instance serves the API (bearer
 * token) and the pages (session and CSRF header).
 */

declare module 'fastify' {
  interface FastifyInstance {
    /** The tus door, for the maintenance that removes expired uploads (and tests). */
    resumable: ResumableIntake;
  }
}

/** What one request through the door carries to the tus hooks. */
type Call = {
  deps: EvidenceDeps;
  principal: Principal;
  upload: ResumableUpload;
  location: string;
  result?: UploadResult;
  failure?: unknown;
};

export type ResumableIntake = {
  /**
   * Answers one tus request for `applicationId` (`uploadId` for all but creation) on `reply`. `base` is
   * the creation URL, under which the upload's URL is made. Refusals are thrown as DomainErrors for the
   * door's own error handler; a finished upload answers 200 with the filed evidence.
   */
  handle(
    request: FastifyRequest,
    reply: FastifyReply,
    call: {
      deps: EvidenceDeps;
      principal: Principal;
      applicationId: string;
      uploadId?: string;
      base: string;
    },
  ): Promise<FastifyReply>;
  /** Removes the uploads expired by `now`, their partial bytes first. Returns how many. */
  removeExpired(db: Db, now?: Date): Promise<number>;
};

const TUS_METHODS = 'POST, HEAD, PATCH, DELETE, OPTIONS';

/** tus's own refusals (plain text) as problems of the same codes the rest of the API uses. */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'validation-failed',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'not-found',
  412: 'validation-failed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  423: 'conflict',
};

export function createResumableIntake(
  config: Pick<Config, 'evidenceDir' | 'resumableUploadExpiryMs'>,
  log?: EvidenceDeps['log'],
): ResumableIntake {
  const datastore = new PartialFiles({
    directory: join(config.evidenceDir, '.uploads'),
    expirationPeriodInMilliseconds: config.resumableUploadExpiryMs,
  });
  const calls = new WeakMap<object, Call>();
  const callOf = (req: object): Call => {
    const call = calls.get(req);
    if (!call) throw new Error('a tus request outside the evidence routes');
    return call;
  };
  const removeBytes = (id: string) =>
    datastore.remove(id).catch((err: { status_code?: number }) => {
      // Already gone is fine: a removal may be retried.
      if (err?.status_code !== 404) log?.warn({ err, uploadId: id }, 'could not remove a partial upload');
    });

  const server = new Server({
    // Required by the server, unused: `generateUrl` and `getFileIdFromRequest` make and read our URLs.
    path: '/uploads',
    datastore,
    // Same origin only: the API is called by programs, the pages by their own script.
    allowedOrigins: () => false,
    namingFunction: (req) => callOf(req).upload.id,
    getFileIdFromRequest: (req) => calls.get(req)?.upload.id,
    generateUrl: (req) => callOf(req).location,
    onUploadFinish: async (req, upload) => {
      const call = callOf(req);
      try {
        call.result = await finishResumableUpload(call.deps, call.principal, call.upload, {
          path: datastore.pathOf(upload.id),
          sha256: await datastore.takeHash(upload.id, upload.offset),
          open: async () => datastore.read(upload.id),
        });
      } catch (err) {
        call.failure = err;
      } finally {
        // Filed (its bytes are in the evidence store now, maybe the very file) or refused: nothing of it stays.
        await removeBytes(upload.id);
      }
      return {};
    },
  });

  return {
    async handle(request, reply, { deps, principal, applicationId, uploadId, base }) {
      reply.header('Cache-Control', 'no-store');
      const upload =
        uploadId === undefined
          ? await beginResumableUpload(
              deps,
              principal,
              applicationId,
              declaration(request),
              new Date(Date.now() + config.resumableUploadExpiryMs),
            )
          : await findResumableUpload(deps.db, principal, applicationId, uploadId);
      const call: Call = { deps, principal, upload, location: `${base}/${upload.id}` };
      const req = new NodeRequest({ req: request.raw, res: reply.raw });
      calls.set(req, call);
      let response: Response;
      try {
        response = await server.handleWeb(req);
      } catch (err) {
        if (uploadId === undefined) await forgetResumableUpload(deps.db, upload.id);
        throw err;
      }
      if (uploadId === undefined && response.status !== 201) await forgetResumableUpload(deps.db, upload.id);
      if (request.method === 'DELETE' && response.status === 204) {
        await forgetResumableUpload(deps.db, upload.id);
      }
      for (const [name, value] of response.headers) {
        if (name !== 'content-length' && name !== 'content-type' && name !== 'connection')
          reply.header(name, value);
      }
      if (call.failure) throw call.failure;
      // The client went away mid-PATCH: what arrived is kept for the resume, and nobody awaits an answer.
      if (request.raw.socket?.destroyed) return reply.code(204).send();
      if (call.result) return reply.code(200).send(call.result);
      if (response.status >= 400) {
        const code = CODE_OF_STATUS[response.status];
        const detail = (await response.text()).trim();
        if (!code) throw new Error(`resumable upload failed (${response.status}): ${detail}`);
        throw new DomainError(code, detail || undefined);
      }
      return reply.code(response.status).send();
    },

    async removeExpired(db, now = new Date()) {
      const ids = await expiredResumableUploads(db, now);
      for (const id of ids) {
        await removeBytes(id);
        await forgetResumableUpload(db, id);
      }
      return ids.length;
    },
  };
}

/**
 * The partial files of uploads under way: @tus/server's file store, with each PATCH's bytes written
 * behind (flushed as they arrive, fsynced before the PATCH answers: an acknowledged offset survives a
 * power cut), counted for the collector (see streamed-garbage.ts) and hashed as they arrive, so that a
 * finished file need not be read for its hash again. A running hash lives in this process only: after a
 * restart, or a PATCH served by another instance, the file is hashed when it is filed. A partial file
 * the intake took as the stored file is already gone when the door removes the upload.
 */
class PartialFiles extends FileStore {
  /**
   * Each upload's running hash, with the file's size and modification time after this process's last
   * write to it: a file written since by anyone else (another instance sharing the directory) no
   * longer matches, and is hashed when it is filed.
   */
  private readonly hashes = new Map<string, { hash: Hash; length: number; mtimeNs: bigint; at: number }>();

  pathOf(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not an upload id: ${JSON.stringify(id)}`);
    return join(this.directory, id);
  }

  /** The SHA-256 of a finished upload's `length` bytes, when this process hashed every one of them. */
  async takeHash(id: string, length: number): Promise<string | undefined> {
    const running = this.hashes.get(id);
    this.hashes.delete(id);
    if (running?.length !== length || !(await this.unchangedSince(id, running))) return undefined;
    return running.hash.digest('hex');
  }

  /** Whether the partial file is as this process's last write left it: its size and modification time. */
  private async unchangedSince(id: string, running: { length: number; mtimeNs: bigint }): Promise<boolean> {
    const now = await stat(this.pathOf(id), { bigint: true }).catch(() => null);
    return now?.size === BigInt(running.length) && now.mtimeNs === running.mtimeNs;
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    this.forgetStaleHashes();
    const earlier = this.hashes.get(id);
    this.hashes.delete(id);
    const running =
      offset === 0
        ? { hash: createHash('sha256'), length: 0, mtimeNs: 0n, at: 0 }
        : earlier && (await this.unchangedSince(id, earlier))
          ? earlier
          : null;
    let received = 0;
    await pipeline(
      readable,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          noteStreamedBytes(chunk.length);
          running?.hash.update(chunk);
          yield chunk;
        }
      },
      new WriteBehindFile(this.pathOf(id), { flags: 'r+', start: offset }),
    );
    if (running) {
      const written = await stat(this.pathOf(id), { bigint: true });
      Object.assign(running, { length: offset + received, mtimeNs: written.mtimeNs, at: Date.now() });
      this.hashes.set(id, running);
    }
    return offset + received;
  }

  override async remove(id: string): Promise<void> {
    this.hashes.delete(id);
    await rm(this.pathOf(id), { force: true });
    // Its metadata may be gone already (a removal retried, another instance's).
    await this.configstore.delete(id).catch((err: { code?: string }) => {
      if (err?.code !== 'ENOENT') throw err;
    });
  }

  /** Running hashes of uploads untouched for longer than an upload lives (finished or expired elsewhere). */
  private forgetStaleHashes() {
    if (this.getExpiration() <= 0) return;
    const before = Date.now() - this.getExpiration();
    for (const [id, running] of this.hashes) if (running.at < before) this.hashes.delete(id);
  }
}

/** `Upload-Length` and the `Upload-Metadata` pairs (`key base64value`, comma-separated) of a creation. */
function declaration(request: FastifyRequest) {
  const lengthHeader = request.headers['upload-length'];
  const metadata = new Map<string, string>();
  for (const pair of String(request.headers['upload-metadata'] ?? '').split(',')) {
    const [key, value = ''] = pair.trim().split(/\s+/);
    if (key) metadata.set(key, Buffer.from(value, 'base64').toString('utf8'));
  }
  return {
    length: typeof lengthHeader === 'string' && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined,
    filename: metadata.get('filename') || metadata.get('name') || undefined,
    criteria: metadata.get('criteria') ?? metadata.get('criterion') ?? undefined,
    relativePath: metadata.get('relativePath') || undefined,
  };
}

/** tus OPTIONS: what this server speaks (no authentication, nothing of an upload). */
export function answerTusOptions(reply: FastifyReply, maxFileBytes: number): FastifyReply {
  return reply
    .code(204)
    .header('Tus-Resumable', '1.0.0')
    .header('Tus-Version', '1.0.0')
    .header('Tus-Extension', 'creation,termination,expiration')
    .header('Tus-Max-Size', String(maxFileBytes))
    .header('Allow', TUS_METHODS)
    .send();
}

/**
 * Lets a tus PATCH body through unread: the tus server streams it to the partial file itself. For
 * the plugin that registers the tus routes.
 */
export function passTusBodies(app: FastifyInstance) {
  app.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));
}
