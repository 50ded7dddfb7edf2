/**
 * Counts requests per key in fixed windows, in this process's memory: enough to stop one client or
 * one address from flooding a mailbox. With several instances each counts its own share.
 */
export class WindowLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;
  private readonly windowMs: number;

  constructor(max: number, windowMs: number) {
    this.max = max;
    this.windowMs = windowMs;
  }

  /** Counts one request for the key; false when the key is over its limit for this window. */
  take(key: string, now = Date.now()): boolean {
    const w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.set(key, { start: now, count: 1 });
      this.sweep(now);
      return true;
    }
    w.count++;
    return w.count <= this.max;
  }

  private sweep(now: number) {
    if (this.windows.size <= 10_000) return;
    for (const [k, v] of this.windows) if (now - v.start >= this.windowMs) this.windows.delete(k);
  }
}
