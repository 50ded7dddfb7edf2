import { z } from 'zod';

export const nation = z.enum(['england', 'wales', 'scotland', 'northern_ireland']);

const areaFields = {
  name: z.string().trim().min(1).max(200),
  nation,
  region: z.string().trim().max(200).nullable().optional(),
  localAuthorities: z.array(z.string().trim().min(1).max(200)).max(100).optional(),
  leadOrganisation: z.string().trim().max(200).nullable().optional(),
  active: z.boolean(),
};
export const createAreaBody = z.strictObject(areaFields);
export type CreateAreaInput = z.infer<typeof createAreaBody>;

export const patchAreaBody = z
  .strictObject({
    ...areaFields,
    nation: nation.optional(),
    name: areaFields.name.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');
export type PatchAreaInput = z.infer<typeof patchAreaBody>;

export const areaView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    nation,
    region: z.string().nullable(),
    localAuthorities: z.array(z.string()),
    leadOrganisation: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Area' });
export type AreaView = z.infer<typeof areaView>;
