/**
 * Reads a stream of bytes as a parser needs them: exactly `n` bytes (bounded, for a header or a
 * metadata block), or `n` bytes passed on chunk by chunk as they arrive (for image or movie data,
 * which is never held whole). `position` counts the bytes handed out, the offset in the file.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private ended = false;
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Buffers at least `n` bytes; false when the stream ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.bufferedLength < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
        this.buffered.push(chunk);
        this.bufferedLength += chunk.length;
      }
    }
    return this.bufferedLength >= n;
  }

  /** Up to `n` bytes without consuming them (fewer at the end of the stream). */
  async peek(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    this.buffered = all.length > 0 ? [all] : [];
    return all.subarray(0, n);
  }

  /** Exactly `n` bytes, or fewer when the stream ends first (the caller then passes them on as they are). */
  async read(n: number): Promise<Buffer> {
    const head = Buffer.from(await this.peek(n));
    this.consume(head.length);
    return head;
  }

  private consume(n: number) {
    if (n === 0) return;
    const all = this.buffered[0] as Buffer;
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedLength = rest.length;
    this.position += n;
  }

  /** The next `n` bytes, chunk by chunk as they arrive (fewer at the end of the stream). */
  async *pass(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.bufferedLength === 0 && !(await this.fill(1))) return;
      const chunk = this.buffered.shift() as Buffer;
      this.bufferedLength -= chunk.length;
      if (chunk.length > left) {
        this.buffered.unshift(chunk.subarray(left));
        this.bufferedLength += chunk.length - left;
      }
      const out = chunk.subarray(0, Math.min(left, chunk.length));
      left -= out.length;
      this.position += out.length;
      yield out;
    }
  }

  /** Everything left. */
  async *rest(): AsyncGenerator<Buffer> {
    yield* this.pass(Number.POSITIVE_INFINITY);
  }
}
