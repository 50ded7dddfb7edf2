import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Migrator } from 'kysely/migration';
import { migrations } from '../../migrations/index.ts';
import { buildApp } from '../../src/app.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { issueToken } from '../../src/users/service.ts';
import { client } from '../helpers/client.ts';
import { useWorld } from '../helpers/setup.ts';

/**
 * Migration 0008 (SPEC §5, a credential is personal): tokens that someone other than their holder or
 * an admin issued (a lead, under the earlier rules) are revoked, their rows kept; the others stay.
 * The tokens are stored as the earlier code stored them, then the migration runs through the migrator.
 */

const { t, w } = useWorld();

/** Takes the database back to just before 0008 (undoing any later migration too), then to the latest. */
async function rerunMigration0008() {
  const names = Object.keys(migrations).sort();
  const before = names[names.indexOf('0008_credentials') - 1];
  const migrator = new Migrator({ db: t.database.db, provider: { getMigrations: async () => migrations } });
  const down = await migrator.migrateTo(before);
  expect(down.error).toBeUndefined();
  expect(down.results?.map((r) => r.migrationName)).toContain('0008_credentials');
  expect(await migrateToLatest(t.database.db)).toContain('0008_credentials');
}

const revokedAt = async (id: string) =>
  (
    await t.database.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  ).revoked_at;

describe('migration 0008', () => {
  it('revokes the tokens a lead issued for someone else, and keeps every other token working', async () => {
    const db = t.database.db;
    // As the earlier `POST /users/{id}/tokens` stored them: `created_by` is the issuer.
    const byLead = await issueToken(db, { userId: w.leadA.id }, w.appraiserA.id);
    const byLeadForApplicant = await issueToken(db, { userId: w.leadB.id }, w.applicantB.id);
    const byGone = await issueToken(db, { userId: randomUUID() }, w.applicantA.id);
    const byAdmin = await issueToken(db, { userId: w.admin.id }, w.appraiserA.id);
    const ownByLead = await issueToken(db, { userId: w.leadA.id }, w.leadA.id);
    const ownByAppraiser = await issueToken(db, { userId: w.appraiserA.id }, w.appraiserA.id);
    const byCli = await issueToken(db, null, w.applicantA.id);
    const alreadyRevoked = await issueToken(db, { userId: w.leadA.id }, w.applicantA.id);
    const earlier = new Date('2026-01-02T03:04:05Z');
    await db
      .updateTable('api_tokens')
      .set({ revoked_at: earlier })
      .where('id', '=', alreadyRevoked.id)
      .execute();
    expect((await client(t.app, byLead.token).get('/me')).status).toBe(200);

    await rerunMigration0008();

    for (const revoked of [byLead, byLeadForApplicant, byGone])
      expect(await revokedAt(revoked.id)).toBeInstanceOf(Date);
    for (const kept of [byAdmin, ownByLead, ownByAppraiser, byCli])
      expect(await revokedAt(kept.id)).toBeNull();
    expect(await revokedAt(alreadyRevoked.id)).toEqual(earlier);
    // The rows stay, with who issued them.
    const row = await db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', byLead.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ user_id: w.appraiserA.id, created_by: w.leadA.id });

    // A fresh instance (as after the restart that runs the migration) refuses the revoked tokens only.
    const restarted = await buildApp({ config: t.config, database: t.database, logger: false });
    try {
      for (const revoked of [byLead, byLeadForApplicant, byGone])
        expect((await client(restarted, revoked.token).get('/me')).status).toBe(401);
      for (const kept of [byAdmin, ownByLead, ownByAppraiser, byCli])
        expect((await client(restarted, kept.token).get('/me')).status).toBe(200);
      // The world's own tokens, issued by the admin, are untouched.
      for (const actor of [w.admin, w.leadA, w.leadB, w.appraiserA, w.applicantA, w.applicantB])
        expect((await client(restarted, actor.token).get('/me')).status).toBe(200);
    } finally {
      await restarted.close();
    }
  });
});
