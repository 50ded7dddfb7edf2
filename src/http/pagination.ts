import { z } from 'zod';

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size (1–500)'),
  cursor: z.string().max(500).optional().describe('The `nextCursor` of the previous page'),
};

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
