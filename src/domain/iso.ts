/** Timestamps leave the API as ISO 8601 UTC strings (SPEC §5); rows hold Dates (pg) or strings (JSON). */
export const iso = (d: Date | string) => new Date(d).toISOString();
export const isoOrNull = (d: Date | string | null | undefined) => (d ? iso(d) : null);

/** One day in milliseconds, for day counts and windows (instants are UTC: every day has 24 hours). */
export const DAY_MS = 86_400_000;
