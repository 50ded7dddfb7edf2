import { z } from 'zod';
import { notFound } from '../domain/errors.ts';

/** What the pages read from addresses and forms, shared by their routes. */

export const uuid = z.uuid();

/** A path parameter that is not one of ours names nothing: the page-not-found page. */
export function param<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

type Form = Record<string, string | string[] | undefined>;

/** One field of a parsed form body, as text ('' when absent; the first when repeated). */
export const field = (body: unknown, name: string): string => {
  const value = (body as Form | undefined)?.[name];
  return (Array.isArray(value) ? value[0] : (value ?? '')).toString();
};
