import { describe, expect, it } from '@jest/globals';
import { ok } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';

/**
 * Streams and criteria are data, not catalogue strings, so the data holds their Welsh (SPEC §9): the
 * seeded ones come with it, an admin may give it when publishing, and without it Welsh pages fall back
 * to the English.
 */
const { w } = useWorld();

describe('Welsh names of streams and criteria', () => {
  it('the seeded streams and criteria have their Welsh', async () => {
    const stream = ok(await w.admin.api.get(`/streams/${w.schoolsStreamId}`));
    expect(stream).toMatchObject({ name: 'Schools of Sanctuary', nameCy: 'Ysgolion Noddfa' });
    for (const c of stream.criteriaSet.criteria) expect(c.titleCy).toMatch(/^Mae[ ']/);
  });

  it('a published set keeps the Welsh it is given, and none where none is given', async () => {
    const set = ok(
      await w.admin.api.post(`/streams/${w.schoolsStreamId}/criteria-sets`, {
        note: 'With some Welsh',
        criteria: [
          { code: 'L1', process: 'learn', title: 'Learn about sanctuary', titleCy: 'Dysgu am noddfa' },
          { code: 'E1', process: 'embed', title: 'Embed a welcome' },
          { code: 'S1', process: 'share', title: 'Share the work', titleCy: 'Rhannu’r gwaith' },
        ],
      }),
      201,
    );
    expect(set.criteria.map((c: { titleCy: string | null }) => c.titleCy)).toEqual([
      'Dysgu am noddfa',
      null,
      'Rhannu’r gwaith',
    ]);
    const blank = await w.admin.api.post(`/streams/${w.schoolsStreamId}/criteria-sets`, {
      criteria: [
        { code: 'L1', process: 'learn', title: 'Learn', titleCy: '  ' },
        { code: 'E1', process: 'embed', title: 'Embed' },
        { code: 'S1', process: 'share', title: 'Share' },
      ],
    });
    expect(blank.status).toBe(400);
  });
});
