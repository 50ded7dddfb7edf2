import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.ts';
import { DomainError } from '../domain/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The response carries a secret shown once (a token, a signing secret): it is never stored for replay. */
    secretInResponse?: boolean;
  }
  interface FastifyRequest {
    idempotency: { userId: string; key: string } | null;
  }
}

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;
// A key whose first request never finished (the process died) is released after this long.
const ABANDONED_AFTER_MS = 60_000;
const REPLAYED_HEADERS = ['content-type', 'etag', 'location'];

function requestHash(request: FastifyRequest): string {
  const body =
    request.body === undefined
      ? `len:${request.headers['content-length'] ?? ''}`
      : JSON.stringify(request.body);
  return createHash('sha256').update(`${request.method} ${request.url}\n${body}`).digest('hex');
}

/**
 * `Idempotency-Key` on any POST (SPEC §5): the first response to a key is stored; the same key with the
 * same request replays it and does nothing twice; with another request it answers 422. Keys are per user.
 */
export function registerIdempotency(app: FastifyInstance, db: Db) {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof key !== 'string' || !request.principal) return;
    // Secrets are stored only as hashes; a replay would need the secret itself, so these POSTs ignore the key.
    if (request.routeOptions.config?.secretInResponse) return;
    if (!KEY_PATTERN.test(key))
      throw new DomainError('validation-failed', 'Idempotency-Key must be 1–200 visible ASCII characters');
    const userId = request.principal.userId;
    const hash = requestHash(request);
    const claimed = await db
      .insertInto('idempotency_keys')
      .values({ user_id: userId, key, request_hash: hash })
      .onConflict((oc) => oc.doNothing())
      .returning('key')
      .executeTakeFirst();
    if (claimed) {
      request.idempotency = { userId, key };
      return;
    }
    const stored = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!stored) throw new DomainError('conflict', 'The Idempotency-Key is being released; retry');
    if (stored.request_hash !== hash) {
      throw new DomainError(
        'idempotency-key-reused',
        'This Idempotency-Key was already used for a different request',
      );
    }
    if (stored.status_code === null) {
      if (Date.now() - new Date(stored.created_at).getTime() < ABANDONED_AFTER_MS) {
        throw new DomainError('conflict', 'A request with this Idempotency-Key is still in progress');
      }
      await db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).execute();
      throw new DomainError(
        'conflict',
        'The earlier request with this Idempotency-Key did not finish; retry',
      );
    }
    for (const [name, value] of Object.entries(stored.response_headers ?? {})) reply.header(name, value);
    reply.header('Idempotent-Replayed', 'true');
    return reply.code(stored.status_code).send(stored.response_body ?? '');
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotency;
    if (!claim) return payload;
    request.idempotency = null;
    // A server failure is not an answer worth replaying: release the key so the client can retry.
    if (
      reply.statusCode >= 500 ||
      (typeof payload !== 'string' && !Buffer.isBuffer(payload) && payload != null)
    ) {
      await db
        .deleteFrom('idempotency_keys')
        .where('user_id', '=', claim.userId)
        .where('key', '=', claim.key)
        .execute();
      return payload;
    }
    const headers = Object.fromEntries(
      REPLAYED_HEADERS.flatMap((h) => {
        const v = reply.getHeader(h);
        return v === undefined ? [] : [[h, String(v)]];
      }),
    );
    await db
      .updateTable('idempotency_keys')
      .set({
        status_code: reply.statusCode,
        response_headers: JSON.stringify(headers),
        response_body: payload == null ? '' : payload.toString(),
      })
      .where('user_id', '=', claim.userId)
      .where('key', '=', claim.key)
      .execute();
    return payload;
  });
}
