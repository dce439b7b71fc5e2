import { parseAnsi, stripAnsi } from './ansi.ts';

export type LogLine = { seq: number; text: string; stream?: string };
type Stored = { seq: number; text: string; plain: string; err: boolean };
export type LogViewState = { lines: number; follow: boolean; matches: number; match: number };

const OVERSCAN = 20;

/**
 * A virtualised log: only the rows in view (plus a margin) exist in the DOM, absolutely positioned
 * in a spacer as tall as every line together, so 100,000 lines cost the same to scroll and append to
 * as 100. Appends are coalesced into one render per animation frame. Plain DOM rather than a
 * component tree: this is the hot path at 1,000 lines/s.
 */
export class LogView {
  readonly root: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly lines: Stored[] = [];
  private readonly rows = new Map<number, HTMLElement>();
  private rowHeight = 18;
  private follow = true;
  private query = '';
  private matches: number[] = [];
  private current = -1;
  /** A line pointed at from outside the log (a failure's line), drawn like the current match. */
  private marked = -1;
  /** scrollTop when last seen, to tell a scroll up (the user) from a resize. */
  private lastTop = 0;
  private frame = 0;
  private readonly onChange: (s: LogViewState) => void;
  private readonly resized = new ResizeObserver(() => this.schedule());

  constructor(root: HTMLElement, onChange: (s: LogViewState) => void = () => {}) {
    this.root = root;
    this.onChange = onChange;
    root.classList.add('logview');
    this.spacer = document.createElement('div');
    this.spacer.className = 'logview-spacer';
    root.append(this.spacer);
    this.measure();
    root.addEventListener('scroll', this.onScroll, { passive: true });
    // A resized view (the window, the layout above it) shows other rows, and the newest while following.
    this.resized.observe(root);
    (root as HTMLElement & { __logView?: LogView }).__logView = this;
  }

  /** Line height from the stylesheet, so themes and zoom keep rows aligned. */
  private measure(): void {
    const probe = document.createElement('div');
    probe.className = 'logview-row';
    probe.textContent = 'M';
    probe.style.position = 'absolute';
    probe.style.visibility = 'hidden';
    this.spacer.append(probe);
    this.rowHeight = probe.getBoundingClientRect().height || 18;
    probe.remove();
  }

  append(batch: LogLine[]): void {
    const q = this.query;
    for (const l of batch) {
      // One event may carry several lines; each becomes a row with the event's seq.
      for (const part of l.text.split('\n')) {
        const text = part.endsWith('\r') ? part.slice(0, -1) : part;
        const plain = stripAnsi(text);
        if (q && plain.toLowerCase().includes(q)) this.matches.push(this.lines.length);
        this.lines.push({ seq: l.seq, text, plain, err: l.stream === 'stderr' });
      }
    }
    this.schedule();
  }

  clear(): void {
    this.lines.length = 0;
    this.matches = [];
    this.current = -1;
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.schedule();
  }

  get lineCount(): number {
    return this.lines.length;
  }

  /** Every line as plain text, in order, with the seq of the event it came from (tests read this). */
  snapshot(): { seq: number; text: string }[] {
    return this.lines.map((l) => ({ seq: l.seq, text: l.plain }));
  }

  setFollow(on: boolean): void {
    this.follow = on;
    if (on) this.current = -1;
    this.schedule();
  }

  search(query: string): void {
    this.query = query.toLowerCase();
    this.matches = [];
    this.current = -1;
    if (this.query) this.lines.forEach((l, i) => l.plain.toLowerCase().includes(this.query) && this.matches.push(i));
    this.repaintAll();
    if (this.matches.length) this.step(1);
  }

  /** Moves to the next (1) or previous (-1) match, wrapping, and pauses follow to stay on it. */
  step(dir: 1 | -1): void {
    if (!this.matches.length) return;
    this.current = (this.current + dir + this.matches.length) % this.matches.length;
    this.follow = false;
    const line = this.matches[this.current]!;
    const top = line * this.rowHeight;
    if (top < this.root.scrollTop || top > this.root.scrollTop + this.root.clientHeight - this.rowHeight * 2) {
      this.root.scrollTop = Math.max(0, top - this.root.clientHeight / 2);
    }
    this.repaintAll();
  }

  /** The index of the first line containing `text` (ANSI colours ignored), or -1. */
  find(text: string): number {
    return this.lines.findIndex((l) => l.plain.includes(text));
  }

  /** Scrolls line `i` into the middle of the view and marks it; following pauses so it stays there. */
  reveal(i: number): void {
    if (i < 0 || i >= this.lines.length) return;
    this.follow = false;
    this.marked = i;
    this.root.scrollTop = Math.max(0, i * this.rowHeight - this.root.clientHeight / 2);
    this.repaintAll();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resized.disconnect();
    this.root.removeEventListener('scroll', this.onScroll);
  }

  private onScroll = (): void => {
    const r = this.root;
    // Scrolling up pauses following; returning to the bottom (End, wheel) resumes. Only upward moves
    // count: a resize (the window, the layout above) leaves the view short of the bottom without the
    // user having moved, and the next frame takes it back there.
    const atBottom = r.scrollTop + r.clientHeight >= r.scrollHeight - this.rowHeight;
    if (this.current < 0) {
      if (atBottom) this.follow = true;
      else if (r.scrollTop < this.lastTop) this.follow = false;
    }
    this.lastTop = r.scrollTop;
    this.schedule();
  };

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private repaintAll(): void {
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.schedule();
  }

  render(): void {
    const r = this.root;
    const total = this.lines.length;
    this.spacer.style.height = `${total * this.rowHeight}px`;
    if (this.follow) {
      r.scrollTop = r.scrollHeight;
      this.lastTop = r.scrollTop;
    }
    const first = Math.max(0, Math.floor(r.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(total, Math.ceil((r.scrollTop + r.clientHeight) / this.rowHeight) + OVERSCAN);
    for (const [i, row] of this.rows) {
      if (i < first || i >= last) {
        row.remove();
        this.rows.delete(i);
      }
    }
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) if (!this.rows.has(i)) fragment.append(this.row(i));
    this.spacer.append(fragment);
    this.onChange({ lines: total, follow: this.follow, matches: this.matches.length, match: this.current });
  }

  private row(i: number): HTMLElement {
    const line = this.lines[i]!;
    const row = document.createElement('div');
    row.className = line.err ? 'logview-row err' : 'logview-row';
    row.style.transform = `translateY(${i * this.rowHeight}px)`;
    const no = document.createElement('span');
    no.className = 'ln';
    no.textContent = String(i + 1);
    row.append(no);
    const isCurrent = (this.current >= 0 && this.matches[this.current] === i) || this.marked === i;
    if (isCurrent) row.classList.add('current');
    for (const span of parseAnsi(line.text)) {
      const el = document.createElement('span');
      if (span.cls) el.className = span.cls;
      if (span.style) el.style.cssText = span.style;
      this.fill(el, span.text);
      row.append(el);
    }
    this.rows.set(i, row);
    return row;
  }

  /** Text with the search query's occurrences wrapped in <mark>. */
  private fill(el: HTMLElement, text: string): void {
    const q = this.query;
    if (!q) {
      el.textContent = text;
      return;
    }
    const lower = text.toLowerCase();
    let at = 0;
    for (let hit = lower.indexOf(q); hit >= 0; hit = lower.indexOf(q, at)) {
      if (hit > at) el.append(text.slice(at, hit));
      const mark = document.createElement('mark');
      mark.textContent = text.slice(hit, hit + q.length);
      el.append(mark);
      at = hit + q.length;
    }
    if (at < text.length) el.append(text.slice(at));
  }
}
