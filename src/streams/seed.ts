import type { DbOrTrx } from '../db/index.ts';

type SeedCriterion = {
  code: string;
  process: 'learn' | 'embed' | 'share';
  title: string;
  /** The title in Welsh (read by a Welsh speaker before production, as the page catalogues). */
  titleCy: string;
};

/** Schools of Sanctuary minimum criteria (SPEC §2), paraphrased. */
export const SCHOOL_CRITERIA: SeedCriterion[] = [
  {
    code: 'L1',
    process: 'learn',
    title:
      'Staff and governors understand the experiences of people seeking sanctuary; key staff have expertise in supporting new arrivals',
    titleCy:
      "Mae staff a llywodraethwyr yn deall profiadau pobl sy'n ceisio noddfa; mae gan staff allweddol arbenigedd mewn cefnogi newydd-ddyfodiaid",
  },
  {
    code: 'L2',
    process: 'learn',
    title:
      'Pupils learn about sanctuary, forced migration and the experiences of people seeking sanctuary, in every key stage',
    titleCy:
      "Mae disgyblion yn dysgu am noddfa, mudo gorfodol a phrofiadau pobl sy'n ceisio noddfa, ym mhob cyfnod allweddol",
  },
  {
    code: 'E1',
    process: 'embed',
    title:
      'Policy and everyday practice create a culture of welcome and meet the needs of pupils and families seeking sanctuary, sustained beyond the award and written into the school development plan',
    titleCy:
      "Mae polisi ac arfer bob dydd yn creu diwylliant o groeso ac yn diwallu anghenion disgyblion a theuluoedd sy'n ceisio noddfa, a hynny'n parhau y tu hwnt i'r wobr ac wedi'i ysgrifennu yng nghynllun datblygu'r ysgol",
  },
  {
    code: 'E2',
    process: 'embed',
    title:
      "People seeking sanctuary, pupils and families among them, co-produce the school's sanctuary work; pupil voice shapes it",
    titleCy:
      "Mae pobl sy'n ceisio noddfa, gan gynnwys disgyblion a theuluoedd, yn cydgynhyrchu gwaith noddfa'r ysgol; mae llais y disgyblion yn ei lywio",
  },
  {
    code: 'E3',
    process: 'embed',
    title: 'The school works with local organisations and groups that support people seeking sanctuary',
    titleCy: "Mae'r ysgol yn gweithio gyda sefydliadau a grwpiau lleol sy'n cefnogi pobl sy'n ceisio noddfa",
  },
  {
    code: 'S1',
    process: 'share',
    title: 'The school has signed the City of Sanctuary pledge and shows it in school and on its website',
    titleCy: "Mae'r ysgol wedi llofnodi addewid Dinas Noddfa ac yn ei ddangos yn yr ysgol ac ar ei gwefan",
  },
  {
    code: 'S2',
    process: 'share',
    title: 'The school celebrates the contribution of people seeking sanctuary, e.g. during Refugee Week',
    titleCy:
      "Mae'r ysgol yn dathlu cyfraniad pobl sy'n ceisio noddfa, er enghraifft yn ystod Wythnos Ffoaduriaid",
  },
  {
    code: 'S3',
    process: 'share',
    title: 'The school shares its sanctuary work with families, the local community and other schools',
    titleCy: "Mae'r ysgol yn rhannu ei gwaith noddfa gyda theuluoedd, y gymuned leol ac ysgolion eraill",
  },
];

/** Every other stream starts with one criterion per core process until an admin publishes its real set. */
export const STARTER_CRITERIA: SeedCriterion[] = [
  {
    code: 'L1',
    process: 'learn',
    title: 'People in the organisation learn about sanctuary and the experiences of people seeking sanctuary',
    titleCy: "Mae pobl yn y sefydliad yn dysgu am noddfa a phrofiadau pobl sy'n ceisio noddfa",
  },
  {
    code: 'E1',
    process: 'embed',
    title: 'Policy and practice create a culture of welcome for people seeking sanctuary',
    titleCy: "Mae polisi ac arfer yn creu diwylliant o groeso i bobl sy'n ceisio noddfa",
  },
  {
    code: 'S1',
    process: 'share',
    title:
      'The organisation shares its sanctuary work and celebrates the contribution of people seeking sanctuary',
    titleCy: "Mae'r sefydliad yn rhannu ei waith noddfa ac yn dathlu cyfraniad pobl sy'n ceisio noddfa",
  },
];

export const STREAMS: { slug: string; name: string; nameCy: string }[] = [
  { slug: 'schools', name: 'Schools of Sanctuary', nameCy: 'Ysgolion Noddfa' },
  { slug: 'colleges', name: 'Colleges of Sanctuary', nameCy: 'Colegau Noddfa' },
  { slug: 'universities', name: 'Universities of Sanctuary', nameCy: 'Prifysgolion Noddfa' },
  { slug: 'libraries', name: 'Libraries of Sanctuary', nameCy: 'Llyfrgelloedd Noddfa' },
  { slug: 'theatres', name: 'Theatres of Sanctuary', nameCy: 'Theatrau Noddfa' },
  { slug: 'museums', name: 'Museums of Sanctuary', nameCy: 'Amgueddfeydd Noddfa' },
  { slug: 'arts', name: 'Arts of Sanctuary', nameCy: 'Celfyddydau Noddfa' },
  { slug: 'health', name: 'Health Services of Sanctuary', nameCy: 'Gwasanaethau Iechyd Noddfa' },
  { slug: 'maternity', name: 'Maternity Services of Sanctuary', nameCy: 'Gwasanaethau Mamolaeth Noddfa' },
  { slug: 'faith', name: 'Faith Communities of Sanctuary', nameCy: 'Cymunedau Ffydd Noddfa' },
  { slug: 'councils', name: 'Councils of Sanctuary', nameCy: 'Cynghorau Noddfa' },
  { slug: 'shops', name: 'Shops of Sanctuary', nameCy: 'Siopau Noddfa' },
  { slug: 'gardens', name: 'Gardens of Sanctuary', nameCy: 'Gerddi Noddfa' },
];

/** Seeds the streams and their first criteria set; safe to run at every start. */
export async function seedStreams(db: DbOrTrx): Promise<void> {
  for (const stream of STREAMS) {
    const inserted = await db
      .insertInto('streams')
      .values({ slug: stream.slug, name: stream.name, name_cy: stream.nameCy })
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
      .values(
        criteria.map(({ titleCy, ...c }, position) => ({
          criteria_set_id: set.id,
          position,
          ...c,
          title_cy: titleCy,
        })),
      )
      .execute();
  }
}
