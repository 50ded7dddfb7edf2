import Fastify from 'fastify';
import pg from 'pg';

/**
 * The baselines of SPEC §8: a bare Fastify app (no validation, no authentication, no workflow, no
 * effects) on the same database with a pg pool of the same size as the service's, each route doing
 * by hand the essential work of the service's route it stands for, as one would write it naively
 * (plain `pool.query` text, as most code does).
 * - `POST /bare/applications/:id/events`: lock the row, update it, insert the history row, answer the
 *   updated row as JSON (baseline of POST /applications/{id}/events).
 * - `GET /bare/applications/:id`: the application's row, its answers and its evidence counts per
 *   criterion from one hand-written query (baseline of GET /applications/{id}).
 */
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
});
pool.on('error', () => {});

const app = Fastify({ logger: false });

const READ = `
  select a.*, o.name as organisation_name, o.area_id,
    (select coalesce(jsonb_object_agg(x.code, x.text), '{}'::jsonb)
       from application_answers x where x.application_id = a.id) as answers,
    (select coalesce(jsonb_object_agg(c.code, c.n), '{}'::jsonb) from (
       select code, count(*) as n from evidence e cross join lateral unnest(e.criteria) as code
       where e.application_id = a.id and e.deleted_at is null group by code) c) as evidence_counts
  from applications a join organisations o on o.id = a.organisation_id
  where a.id = $1`;

app.get<{ Params: { id: string } }>('/bare/applications/:id', async (request, reply) => {
  const { rows } = await pool.query(READ, [request.params.id]);
  if (!rows[0]) return reply.code(404).send({ status: 404 });
  return rows[0];
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
      const updated = await client.query(
        'update applications set snapshot = $2, version = $3, updated_at = now() where id = $1 returning *',
        [row.id, json, version],
      );
      await client.query(
        `insert into application_events (application_id, type, actor_id, from_state, to_state, payload, snapshot, version)
       values ($1, $2, null, $3, $3, $4, $5, $6)`,
        [row.id, request.body.type, row.state, JSON.stringify(request.body), json, version],
      );
      await client.query('commit');
      return updated.rows[0];
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
