/** Exponential backoff: base × 2^(attempt − 1), capped at six hours. */
export function retryDelayMs(attempt: number, baseSeconds: number): number {
  return Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1), 6 * 60 * 60 * 1000);
}

/** How long a claimed outbox row is kept from other workers while it is being sent. */
export const CLAIM_LEASE_MS = 5 * 60 * 1000;
