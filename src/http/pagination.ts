import { z } from 'zod';

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size (1–500)'),
  cursor: z.string().max(500).optional().describe('The `nextCursor` of the previous page'),
};

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/**
 * `?sort=`: one of a list's sort keys, `-` before it for descending; documented as the enum it is.
 * The service maps the key to its column (parseSort in src/domain/pagination.ts).
 */
export const sortQuery = <const K extends string>(keys: readonly K[]) =>
  z
    .enum([...keys, ...keys.map((k) => `-${k}` as const)] as [K | `-${K}`, ...(K | `-${K}`)[]])
    .optional()
    .describe(`${keys.join(', ')}; prefix - for descending`);

/** `?q=` (or the register's `?name=`): text in the organisation name, matched case-insensitively. */
export const organisationNameQuery = () =>
  z.string().trim().min(1).max(200).optional().describe('Text in the organisation name (case-insensitive)');
