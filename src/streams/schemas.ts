import { z } from 'zod';

const processEnum = z.enum(['learn', 'embed', 'share']);
export const criterionView = z
  .object({
    code: z.string(),
    process: processEnum,
    title: z.string(),
    titleCy: z
      .string()
      .nullable()
      .describe('The title in Welsh, if the set has one; Welsh pages show `title` otherwise'),
  })
  .meta({ id: 'Criterion' });
export const criteriaSetView = z
  .object({
    id: z.uuid(),
    version: z.number().int(),
    note: z.string().nullable(),
    publishedAt: z.string(),
    criteria: z.array(criterionView),
  })
  .meta({ id: 'CriteriaSet' });
export type CriteriaSetView = z.infer<typeof criteriaSetView>;

export const streamView = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    nameCy: z.string().nullable().describe('The name in Welsh, if known; Welsh pages show `name` otherwise'),
    awardYears: z.number().int(),
    renewalNoticeDays: z.number().int(),
    minPanelSize: z.number().int(),
    graceDays: z.number().int(),
    criteriaSet: criteriaSetView,
  })
  .meta({ id: 'Stream' });
export type StreamView = z.infer<typeof streamView>;

export const publishBody = z.strictObject({
  note: z.string().trim().max(1000).optional(),
  criteria: z
    .array(
      z.strictObject({
        code: z.string().regex(/^[A-Z][A-Z0-9]{0,9}$/, 'codes are capitals and digits, e.g. L1'),
        process: processEnum,
        title: z.string().trim().min(1).max(1000),
        titleCy: z
          .string()
          .trim()
          .min(1)
          .max(1000)
          .nullable()
          .optional()
          .describe('The title in Welsh (absent or null: none; Welsh pages then show the title)'),
      }),
    )
    .min(3)
    .max(50),
});
export type PublishCriteriaSetInput = z.infer<typeof publishBody>;
