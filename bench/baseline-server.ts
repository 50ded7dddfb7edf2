import Fastify from 'fastify';
import pg from 'pg';

/**
 * The baselines of SPEC §8: a bare Fastify app (no validation, no auth, no workflow) on the same
 * database with a pg pool of the same size as the service's.
 * - `GET /select1`: `SELECT 1` through the pool (baseline of GET /applications/{id}).
 * - `POST /bare/applications/:id/events`: the same SQL as a transition, written by hand: lock the row,
 *   update its snapshot and version, insert a history line (baseline of POST /applications/{id}/events).
 */
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
pool.on('error', () => {});

const app = Fastify({ logger: false });

app.get('/select1', async () => {
  const { rows } = await pool.query('select 1 as one');
  return { one: rows[0].one };
});

app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
  '/bare/applications/:id/events',
  async (request) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(
        'select id, version, state, snapshot from applications where id = $1 for update',
        [request.params.id],
      );
      const row = rows[0];
      const version = row.version + 1;
      const snapshot = { ...row.snapshot, context: { ...row.snapshot.context, meeting: request.body } };
      const json = JSON.stringify(snapshot);
      await client.query(
        'update applications set snapshot = $2, version = $3, updated_at = now() where id = $1',
        [row.id, json, version],
      );
      await client.query(
        `insert into application_events (application_id, type, actor_id, from_state, to_state, payload, snapshot, version)
       values ($1, $2, null, $3, $3, $4, $5, $6)`,
        [row.id, request.body.type, row.state, JSON.stringify(request.body), json, version],
      );
      await client.query('commit');
      return { id: row.id, version };
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  },
);

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening at ${address}\n`);
process.on('SIGTERM', () => {
  app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
