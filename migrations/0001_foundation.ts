import { type Kysely, sql } from 'kysely';

/** Users, grants, tokens, streams with versioned criteria sets, areas, organisations, pledges. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('areas')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('nation', 'text', (c) =>
      c.notNull().check(sql`nation in ('england', 'wales', 'scotland', 'northern_ireland')`),
    )
    .addColumn('region', 'text')
    .addColumn('local_authorities', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('lead_organisation', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('areas_name_unique')
    .on('areas')
    .expression(sql`lower(name)`)
    .unique()
    .execute();

  await db.schema
    .createTable('streams')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('award_years', 'integer', (c) => c.notNull().defaultTo(3))
    .addColumn('renewal_notice_days', 'integer', (c) => c.notNull().defaultTo(90))
    .addColumn('min_panel_size', 'integer', (c) => c.notNull().defaultTo(3))
    .addColumn('grace_days', 'integer', (c) => c.notNull().defaultTo(180))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('criteria_sets')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('streams.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('published_by', 'uuid')
    .addColumn('published_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('criteria_sets_stream_version', ['stream_id', 'version'])
    .execute();

  await db.schema
    .createTable('criteria')
    .addColumn('criteria_set_id', 'uuid', (c) =>
      c.notNull().references('criteria_sets.id').onDelete('cascade'),
    )
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('process', 'text', (c) => c.notNull().check(sql`process in ('learn', 'embed', 'share')`))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('criteria_pk', ['criteria_set_id', 'code'])
    .execute();

  await db.schema
    .createTable('organisations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('stream_id', 'uuid', (c) => c.notNull().references('streams.id'))
    .addColumn('area_id', 'uuid', (c) => c.notNull().references('areas.id'))
    .addColumn('phase', 'text')
    .addColumn('urn', 'text')
    .addColumn('website', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('organisations_area')
    .on('organisations')
    .columns(['area_id', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('organisations_created')
    .on('organisations')
    .columns(['created_at', 'id'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('users_email_unique')
    .on('users')
    .expression(sql`lower(email)`)
    .unique()
    .execute();
  await db.schema.createIndex('users_created').on('users').columns(['created_at', 'id']).execute();

  // One row per grant; a user may hold several (e.g. lead of two areas and an appraiser).
  await db.schema
    .createTable('grants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('admin', 'lead', 'appraiser', 'applicant')`),
    )
    .addColumn('area_id', 'uuid', (c) => c.references('areas.id'))
    .addColumn('organisation_id', 'uuid', (c) => c.references('organisations.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'grants_shape',
      sql`(role = 'lead') = (area_id is not null) and (role = 'applicant') = (organisation_id is not null)`,
    )
    .execute();
  await db.schema
    .createIndex('grants_unique')
    .on('grants')
    .expression(sql`user_id, role, coalesce(area_id, organisation_id)`)
    .unique()
    .nullsNotDistinct()
    .execute();
  await db.schema
    .createIndex('grants_area')
    .on('grants')
    .columns(['area_id'])
    .where('area_id', 'is not', null)
    .execute();
  await db.schema
    .createIndex('grants_organisation')
    .on('grants')
    .columns(['organisation_id'])
    .where('organisation_id', 'is not', null)
    .execute();

  await db.schema
    .createTable('appraiser_profiles')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('lived_experience', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('local_group', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('cos_staff', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('home_area_id', 'uuid', (c) => c.references('areas.id'))
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();

  await db.schema
    .createTable('pledges')
    .addColumn('organisation_id', 'uuid', (c) =>
      c.primaryKey().references('organisations.id').onDelete('cascade'),
    )
    .addColumn('signatory_name', 'text', (c) => c.notNull())
    .addColumn('signatory_role', 'text', (c) => c.notNull())
    .addColumn('signed_by', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('signed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Declared conflicts of interest: the person never appraises that organisation.
  await db.schema
    .createTable('conflicts')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('organisation_id', 'uuid', (c) =>
      c.notNull().references('organisations.id').onDelete('cascade'),
    )
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('declared_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('conflicts_pk', ['user_id', 'organisation_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'conflicts',
    'pledges',
    'api_tokens',
    'appraiser_profiles',
    'grants',
    'users',
    'organisations',
    'criteria',
    'criteria_sets',
    'streams',
    'areas',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
