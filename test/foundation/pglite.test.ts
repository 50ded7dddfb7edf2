import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { ensureFirstAdmin, prepareDatabase } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/index.ts';
import { type Client, client, type Res } from '../helpers/client.ts';

/**
 * The embedded default (SPEC §7) runs on one PGlite session, shared by every request. These tests
 * build a PGlite-backed app whatever database the run uses, and check that concurrent requests,
 * including ones that open transactions, neither deadlock nor see each other's uncommitted work.
 */

let database: DatabaseHandle;
let app: FastifyInstance;
let admin: Client;
let schoolsStreamId: string;
let homeAreaId: string;
let orgId: string;

beforeAll(async () => {
  database = createDatabase({ pgliteDir: 'memory://' });
  expect(database.kind).toBe('pglite');
  await prepareDatabase(database.db);
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_FAILURES_PER_MINUTE: '1000' });
  app = await buildApp({ config, database, logger: false });
  await app.ready();
  const first = await ensureFirstAdmin(database.db, 'admin@pglite.example.org');
  admin = client(app, (first as { token: string }).token);

  const streams = await admin.get('/streams');
  schoolsStreamId = streams.body.items.find((s: { slug: string }) => s.slug === 'schools').id;
  const area = await admin.post('/areas', { name: 'Embedded Home', nation: 'england', active: true });
  expect(area.status).toBe(201);
  homeAreaId = area.body.id;
  const org = await admin.post('/organisations', {
    name: 'Embedded School',
    streamId: schoolsStreamId,
    areaId: homeAreaId,
  });
  expect(org.status).toBe(201);
  orgId = org.body.id;
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const names = (res: Res) => (res.body.items as { name: string }[]).map((i) => i.name);

describe('the embedded database under concurrent requests', () => {
  it('answers 30 concurrent writes and reads, transactions included, all correctly', async () => {
    const criteria = (n: number) => ({
      note: `Concurrent ${n}`,
      criteria: [
        { code: 'L1', process: 'learn', title: `Learn ${n}` },
        { code: 'E1', process: 'embed', title: `Embed ${n}` },
        { code: 'S1', process: 'share', title: `Share ${n}` },
      ],
    });
    const requests: { what: string; status: number; send: () => Promise<Res> }[] = [
      ...Array.from({ length: 8 }, (_, i) => ({
        what: `POST /areas #${i}`,
        status: 201,
        send: () => admin.post('/areas', { name: `Concurrent Area ${i}`, nation: 'scotland', active: true }),
      })),
      ...Array.from({ length: 8 }, (_, i) => ({
        what: `POST /organisations #${i}`,
        status: 201,
        send: () =>
          admin.post('/organisations', {
            name: `Concurrent School ${i}`,
            streamId: schoolsStreamId,
            areaId: homeAreaId,
          }),
      })),
      // These open transactions.
      ...Array.from({ length: 4 }, (_, i) => ({
        what: `POST /users #${i}`,
        status: 201,
        send: () =>
          admin.post('/users', {
            email: `concurrent.${i}@example.org`,
            name: `Concurrent ${i}`,
            grants: [{ role: 'applicant', organisationId: orgId }],
          }),
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        what: `POST /organisations/{id}/members #${i}`,
        status: 201,
        send: () =>
          admin.post(`/organisations/${orgId}/members`, {
            email: `member.${i}@example.org`,
            name: `Member ${i}`,
          }),
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        what: `POST /streams/{id}/criteria-sets #${i}`,
        status: 201,
        send: () => admin.post(`/streams/${schoolsStreamId}/criteria-sets`, criteria(i)),
      })),
      { what: 'GET /areas', status: 200, send: () => admin.get('/areas?limit=500') },
      { what: 'GET /organisations', status: 200, send: () => admin.get('/organisations?limit=500') },
      { what: 'GET /users', status: 200, send: () => admin.get('/users?limit=500') },
      { what: 'GET /me', status: 200, send: () => admin.get('/me') },
      { what: 'GET /streams', status: 200, send: () => admin.get('/streams') },
      { what: 'GET /health/ready', status: 200, send: () => admin.get('/health/ready') },
    ];
    expect(requests).toHaveLength(30);

    // Interleave writes and reads rather than sending all writes first.
    const order = requests.map((_, i) => (i * 7) % requests.length);
    expect(new Set(order).size).toBe(30);
    const answers = await Promise.all(order.map((i) => requests[i].send()));
    const outcome = order.map((i, k) => `${requests[i].what} → ${answers[k].status}`);
    expect(outcome).toEqual(order.map((i) => `${requests[i].what} → ${requests[i].status}`));

    // Every write landed exactly once.
    const areas = names(await admin.get('/areas?limit=500'));
    for (let i = 0; i < 8; i++) expect(areas.filter((n) => n === `Concurrent Area ${i}`)).toHaveLength(1);
    const orgs = names(await admin.get(`/organisations?areaId=${homeAreaId}&limit=500`));
    for (let i = 0; i < 8; i++) expect(orgs.filter((n) => n === `Concurrent School ${i}`)).toHaveLength(1);
    const members = await admin.get(`/organisations/${orgId}/members`);
    expect(members.body.items).toHaveLength(6);
    // The stream row lock serialised the two publications into consecutive versions.
    const sets = await admin.get(`/streams/${schoolsStreamId}/criteria-sets`);
    expect(sets.body.items.map((s: { version: number }) => s.version)).toEqual([3, 2, 1]);
    expect(
      sets.body.items
        .slice(0, 2)
        .map((s: { note: string }) => s.note)
        .sort(),
    ).toEqual(['Concurrent 0', 'Concurrent 1']);
  });

  it('a burst of identical creations gives one 201 and conflicts, never a 500', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        admin.post('/areas', { name: 'Only Once', nation: 'wales', active: true }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.code).toBe('conflict');
  });
});

describe('transactions on the embedded database', () => {
  it('a request made while a transaction is open does not see its rows, and nothing survives the rollback', async () => {
    let concurrent: Promise<Res> | undefined;
    const rollback = database.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('areas')
        .values({
          name: 'Phantom',
          nation: 'wales',
          region: null,
          local_authorities: '[]',
          lead_organisation: null,
          active: true,
        })
        .execute();
      const inside = await trx
        .selectFrom('areas')
        .select('id')
        .where('name', '=', 'Phantom')
        .executeTakeFirst();
      expect(inside).toBeDefined();
      concurrent = admin.get('/areas?limit=500');
      // Let the request run as far as it can while the transaction holds the session.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      throw new Error('roll back');
    });
    await expect(rollback).rejects.toThrow('roll back');

    const res = await (concurrent as Promise<Res>);
    expect(res.status).toBe(200);
    expect(names(res)).not.toContain('Phantom');
    expect(names(res)).toContain('Embedded Home');
    const after = await database.db
      .selectFrom('areas')
      .select('id')
      .where('name', '=', 'Phantom')
      .executeTakeFirst();
    expect(after).toBeUndefined();
    expect(names(await admin.get('/areas?limit=500'))).not.toContain('Phantom');
  });

  it('a write made while a transaction is open waits for its commit and then sees it', async () => {
    let concurrent: Promise<Res> | undefined;
    await database.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('areas')
        .values({
          name: 'Committed',
          nation: 'wales',
          region: null,
          local_authorities: '[]',
          lead_organisation: null,
          active: true,
        })
        .execute();
      concurrent = admin.post('/areas', { name: 'committed', nation: 'england', active: true });
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    });
    // The request's insert ran after the commit and met the (case-insensitive) unique name.
    const res = await (concurrent as Promise<Res>);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('conflict');
    const rows = await database.db
      .selectFrom('areas')
      .select('name')
      .where('name', 'ilike', 'committed')
      .execute();
    expect(rows).toEqual([{ name: 'Committed' }]);
  });

  it('a failed request inside the service rolls back its own transaction and leaves the session usable', async () => {
    // The second user with the same email fails inside createUser's transaction.
    const first = await admin.post('/users', { email: 'twice@example.org', name: 'Twice', grants: [] });
    expect(first.status).toBe(201);
    const second = await admin.post('/users', {
      email: 'TWICE@example.org',
      name: 'Twice Again',
      grants: [],
    });
    expect(second.status).toBe(409);
    const users = await admin.get('/users?email=twice@example.org');
    expect(users.body.items.map((u: { name: string }) => u.name)).toEqual(['Twice']);
    expect((await admin.get('/health/ready')).body).toEqual({ status: 'ready', database: 'pglite' });
  });
});
