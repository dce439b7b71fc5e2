/** A line longer than this is cut into pieces rather than held forever waiting for its newline. */
const MAX_LINE = 64 * 1024;
const NEWLINE = 0x0a;

export type StreamLine = { line: string; /** byte offset in the remote file just after this line */ end: number };

/**
 * Cuts one remote output stream, as it arrives in chunks, into complete lines with the byte offset
 * each ends at: the offset the event store keeps, from which a later attempt asks the host to resume.
 */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Offset of the first byte of `pending` in the remote file. */
  private start: number;

  constructor(offset: number) {
    this.start = offset;
  }

  /** Where the next complete line starts: what to resume from. */
  get offset(): number {
    return this.start;
  }

  push(chunk: Buffer): StreamLine[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: StreamLine[] = [];
    let from = 0;
    for (let i = 0; i < this.pending.length; i++) {
      if (this.pending[i] !== NEWLINE && i - from < MAX_LINE) continue;
      const cut = this.pending[i] === NEWLINE ? i + 1 : i;
      lines.push(this.line(this.pending.subarray(from, this.pending[i] === NEWLINE ? i : cut), cut));
      from = cut;
    }
    this.consume(from);
    return lines;
  }

  /** The stream has ended: a last line without a newline is complete. */
  end(): StreamLine[] {
    if (this.pending.length === 0) return [];
    const last = this.line(this.pending, this.pending.length);
    this.consume(this.pending.length);
    return [last];
  }

  private line(bytes: Buffer, cut: number): StreamLine {
    return { line: bytes.toString('utf8').replace(/\r$/, ''), end: this.start + cut };
  }

  private consume(n: number) {
    this.start += n;
    this.pending = this.pending.subarray(n);
  }
}
