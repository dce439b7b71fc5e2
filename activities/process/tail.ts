import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CTL } from './launch.ts';

export type Stream = 'stdout' | 'stderr';
export type OutputLine = { stream: Stream; line: string; /** byte offset just after this line */ end: number };
export type Offsets = Record<Stream, number>;

/** A line longer than this is cut into pieces rather than held forever waiting for its newline. */
const MAX_LINE = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Reads a launch's output files from given byte offsets, one complete line at a time. Offsets only
 * advance past whole lines, so a reader that starts again from the offsets the event store reached
 * neither repeats nor skips a line.
 */
export class OutputTail {
  private readonly dir: string;
  private readonly redact: (line: string) => string;
  private readonly handles = new Map<Stream, FileHandle>();
  private buf: Buffer | undefined;
  offsets: Offsets;

  constructor(ctlDir: string, offsets: Offsets, redact: (line: string) => string) {
    this.dir = ctlDir;
    this.offsets = { ...offsets };
    this.redact = redact;
  }

  /**
   * What was appended since the last read, up to about `maxBytes` per stream. With `final` (the
   * process has ended) a trailing line without a newline counts as complete.
   */
  async read(maxBytes: number, final = false): Promise<OutputLine[]> {
    const lines: OutputLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) lines.push(...(await this.readStream(stream, maxBytes, final)));
    return lines;
  }

  private async readStream(stream: Stream, maxBytes: number, final: boolean): Promise<OutputLine[]> {
    const handle = await this.handle(stream);
    if (!handle) return [];
    // One buffer for every read: lines are copied out of it, and a busy output is read hundreds of
    // times a second (a fresh zeroed buffer each time kept the collector busier than the reading).
    if (!this.buf || this.buf.length < maxBytes) this.buf = Buffer.allocUnsafe(maxBytes);
    const buf = this.buf;
    const { bytesRead } = await handle.read(buf, 0, maxBytes, this.offsets[stream]);
    const lines: OutputLine[] = [];
    let start = 0;
    for (let i = 0; i < bytesRead; i++) {
      if (buf[i] !== NEWLINE && i - start < MAX_LINE) continue;
      const cut = buf[i] === NEWLINE ? i + 1 : i;
      lines.push(this.line(stream, buf.subarray(start, buf[i] === NEWLINE ? i : cut), this.offsets[stream] + cut));
      start = cut;
    }
    const rest = bytesRead - start;
    // A partial line at the end of a full buffer is completed by the next read; at the end of a
    // finished process's output it is the last line.
    if (rest > 0 && final && bytesRead < maxBytes) {
      lines.push(this.line(stream, buf.subarray(start, bytesRead), this.offsets[stream] + bytesRead));
      start = bytesRead;
    }
    this.offsets[stream] += start;
    return lines;
  }

  private line(stream: Stream, bytes: Buffer, end: number): OutputLine {
    const text = bytes.toString('utf8').replace(/\r$/, '');
    return { stream, line: this.redact(text), end };
  }

  private async handle(stream: Stream): Promise<FileHandle | undefined> {
    let handle = this.handles.get(stream);
    if (!handle) {
      handle = await open(path.join(this.dir, CTL[stream]), 'r').catch(() => undefined);
      if (handle) this.handles.set(stream, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    for (const handle of this.handles.values()) await handle.close().catch(() => undefined);
    this.handles.clear();
  }
}
