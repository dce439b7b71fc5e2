/**
 * ANSI SGR escape sequences → styled spans. Each line is parsed on its own (state resets at a line
 * start), which is what lets the virtualised viewer render any line without the ones before it;
 * tools like terraform end every coloured line with a reset anyway.
 */
export type Span = { text: string; cls: string; style: string };

// Every CSI sequence (colours and cursor/erase controls we ignore) and lone OSC/ESC sequences.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;]*)m/g;

export function stripAnsi(s: string): string {
  return s.includes('\x1b') ? s.replace(ESCAPES, '') : s;
}

type State = { fg: string; bg: string; fgRgb: string; bgRgb: string; bold: boolean; dim: boolean; italic: boolean; underline: boolean };
const fresh = (): State => ({ fg: '', bg: '', fgRgb: '', bgRgb: '', bold: false, dim: false, italic: false, underline: false });

/** xterm's 256-colour palette entry n (16–255) as a CSS colour; 0–15 use theme classes. */
function palette(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

function extended(codes: number[], at: number): { color: string; cls: string; used: number } {
  if (codes[at + 1] === 5) {
    const n = codes[at + 2] ?? 0;
    return n < 16 ? { color: '', cls: String(n), used: 2 } : { color: palette(n), cls: '', used: 2 };
  }
  if (codes[at + 1] === 2) return { color: `rgb(${codes[at + 2] ?? 0},${codes[at + 3] ?? 0},${codes[at + 4] ?? 0})`, cls: '', used: 4 };
  return { color: '', cls: '', used: 0 };
}

function apply(state: State, params: string): void {
  const codes = params === '' ? [0] : params.split(';').map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(state, fresh());
    else if (c === 1) state.bold = true;
    else if (c === 2) state.dim = true;
    else if (c === 3) state.italic = true;
    else if (c === 4) state.underline = true;
    else if (c === 22) state.bold = state.dim = false;
    else if (c === 23) state.italic = false;
    else if (c === 24) state.underline = false;
    else if (c >= 30 && c <= 37) [state.fg, state.fgRgb] = [String(c - 30), ''];
    else if (c >= 90 && c <= 97) [state.fg, state.fgRgb] = [String(c - 90 + 8), ''];
    else if (c === 39) [state.fg, state.fgRgb] = ['', ''];
    else if (c >= 40 && c <= 47) [state.bg, state.bgRgb] = [String(c - 40), ''];
    else if (c >= 100 && c <= 107) [state.bg, state.bgRgb] = [String(c - 100 + 8), ''];
    else if (c === 49) [state.bg, state.bgRgb] = ['', ''];
    else if (c === 38 || c === 48) {
      const x = extended(codes, i);
      if (c === 38) [state.fg, state.fgRgb] = [x.cls, x.color];
      else [state.bg, state.bgRgb] = [x.cls, x.color];
      i += x.used;
    }
  }
}

function classOf(s: State): string {
  const parts: string[] = [];
  if (s.fg) parts.push(`fg${s.fg}`);
  if (s.bg) parts.push(`bg${s.bg}`);
  if (s.bold) parts.push('b');
  if (s.dim) parts.push('d');
  if (s.italic) parts.push('i');
  if (s.underline) parts.push('u');
  return parts.join(' ');
}

export function parseAnsi(line: string): Span[] {
  if (!line.includes('\x1b')) return [{ text: line, cls: '', style: '' }];
  const spans: Span[] = [];
  const state = fresh();
  let last = 0;
  const push = (text: string) => {
    const clean = stripAnsi(text);
    if (!clean) return;
    const style = (state.fgRgb ? `color:${state.fgRgb};` : '') + (state.bgRgb ? `background:${state.bgRgb};` : '');
    spans.push({ text: clean, cls: classOf(state), style });
  };
  for (const m of line.matchAll(SGR)) {
    push(line.slice(last, m.index));
    apply(state, m[1] ?? '');
    last = m.index + m[0].length;
  }
  push(line.slice(last));
  return spans;
}
