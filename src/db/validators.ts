import { sql } from 'kysely';

/**
 * How many committed transactions changed records that views show beside their own (migration 0009):
 * part of every view's validator (ETag). Read in the same statement as what the view shows, so a
 * stamp never claims more than the view has.
 */
export const directoryGeneration = sql<string>`(select generation::text from directory_changes)`;
