import type { DbOrTrx } from '../db/index.ts';

type SeedCriterion = { code: string; process: 'learn' | 'embed' | 'share'; title: string };

/** Schools of Sanctuary minimum criteria (SPEC §2), paraphrased. */
export const SCHOOL_CRITERIA: SeedCriterion[] = [
  {
    code: 'L1',
    process: 'learn',
    title:
      'Staff and governors understand the experiences of people seeking sanctuary; key staff have expertise in supporting new arrivals',
  },
  {
    code: 'L2',
    process: 'learn',
    title:
      'Pupils learn about sanctuary, forced migration and the experiences of people seeking sanctuary, in every key stage',
  },
  {
    code: 'E1',
    process: 'embed',
    title:
      'Policy and everyday practice create a culture of welcome and meet the needs of pupils and families seeking sanctuary, sustained beyond the award and written into the school development plan',
  },
  {
    code: 'E2',
    process: 'embed',
    title:
      "People seeking sanctuary, pupils and families among them, co-produce the school's sanctuary work; pupil voice shapes it",
  },
  {
    code: 'E3',
    process: 'embed',
    title: 'The school works with local organisations and groups that support people seeking sanctuary',
  },
  {
    code: 'S1',
    process: 'share',
    title: 'The school has signed the City of Sanctuary pledge and shows it in school and on its website',
  },
  {
    code: 'S2',
    process: 'share',
    title: 'The school celebrates the contribution of people seeking sanctuary, e.g. during Refugee Week',
  },
  {
    code: 'S3',
    process: 'share',
    title: 'The school shares its sanctuary work with families, the local community and other schools',
  },
];

/** Every other stream starts with one criterion per core process until an admin publishes its real set. */
export const STARTER_CRITERIA: SeedCriterion[] = [
  {
    code: 'L1',
    process: 'learn',
    title: 'People in the organisation learn about sanctuary and the experiences of people seeking sanctuary',
  },
  {
    code: 'E1',
    process: 'embed',
    title: 'Policy and practice create a culture of welcome for people seeking sanctuary',
  },
  {
    code: 'S1',
    process: 'share',
    title:
      'The organisation shares its sanctuary work and celebrates the contribution of people seeking sanctuary',
  },
];

export const STREAMS: { slug: string; name: string }[] = [
  { slug: 'schools', name: 'Schools of Sanctuary' },
  { slug: 'colleges', name: 'Colleges of Sanctuary' },
  { slug: 'universities', name: 'Universities of Sanctuary' },
  { slug: 'libraries', name: 'Libraries of Sanctuary' },
  { slug: 'theatres', name: 'Theatres of Sanctuary' },
  { slug: 'museums', name: 'Museums of Sanctuary' },
  { slug: 'arts', name: 'Arts of Sanctuary' },
  { slug: 'health', name: 'Health Services of Sanctuary' },
  { slug: 'maternity', name: 'Maternity Services of Sanctuary' },
  { slug: 'faith', name: 'Faith Communities of Sanctuary' },
  { slug: 'councils', name: 'Councils of Sanctuary' },
  { slug: 'shops', name: 'Shops of Sanctuary' },
  { slug: 'gardens', name: 'Gardens of Sanctuary' },
];

/** Seeds the streams and their first criteria set; safe to run at every start. */
export async function seedStreams(db: DbOrTrx): Promise<void> {
  for (const stream of STREAMS) {
    const inserted = await db
      .insertInto('streams')
      .values(stream)
      .onConflict((oc) => oc.column('slug').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) continue;
    const set = await db
      .insertInto('criteria_sets')
      .values({ stream_id: inserted.id, version: 1, note: 'Seeded' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const criteria = stream.slug === 'schools' ? SCHOOL_CRITERIA : STARTER_CRITERIA;
    await db
      .insertInto('criteria')
      .values(criteria.map((c, position) => ({ criteria_set_id: set.id, position, ...c })))
      .execute();
  }
}
