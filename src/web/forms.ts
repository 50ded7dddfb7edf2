import { z } from 'zod';
import { notFound } from '../domain/errors.ts';

/** What the pages read from addresses and forms, and how they say what is wrong with a form. */

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
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).toString();
};

/** A field repeated on the form (one per row, or checkboxes), in the form's order. */
export const fields = (body: unknown, name: string): string[] => {
  const value = (body as Form | undefined)?.[name];
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
};

/** Something wrong with a form: its words, and the field it is about (the summary links to it). */
export type Problem = { text: string; field?: string };

/** Page errors as the GOV.UK error summary and the fields want them. */
export const summary = (list: Problem[]) => ({
  errors: list.map((e) => ({ text: e.text, href: e.field ? `#${e.field}` : undefined })),
  fieldErrors: Object.fromEntries(list.filter((e) => e.field).map((e) => [e.field, e.text])),
});
