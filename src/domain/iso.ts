/** Timestamps leave the API as ISO 8601 UTC strings (SPEC §5); rows hold Dates (pg) or strings (JSON). */
export const iso = (d: Date | string) => new Date(d).toISOString();
export const isoOrNull = (d: Date | string | null | undefined) => (d ? iso(d) : null);
