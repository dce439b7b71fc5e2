// Log viewer: the dashboard's virtualised LogView (web/src/log/log-view.ts, bundled here with Vite)
// against a baseline measured in the same Chromium: appending the same lines to a plain <pre> that
// follows its tail. Lines arrive at RATE lines/s (batches every 10 ms, as the socket delivers them) for
// SECONDS, on top of PREFILL lines already shown (0 and 100,000 by default).
// Reported: lines/s rendered, frame time p50/p95/max, frames over 50 ms, and the delay of a 50 ms
// timer (how long a click would wait) — each as a ratio baseline / LogView.
// Run: node bench/log-viewer.ts (needs /usr/bin/chromium; scripts/services.sh ensure_chromium).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { launchBrowser } from '../test/e2e/browser.ts';
import { fmt, table } from './stats.ts';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Math.min(Number(process.env.BENCH_SECONDS ?? 5), 60);
const PREFILLS = (process.env.BENCH_PREFILL ?? '0,100000').split(',').map(Number);
const web = fileURLToPath(new URL('../web/', import.meta.url));

type Result = { rendered: number; seconds: number; frameP50: number; frameP95: number; frameMax: number; longFrames: number; timerP95: number };

/** LogView as a script that sets window.OpsSightLog, built from the same source the dashboard ships. */
async function bundleLogView(): Promise<string> {
  const out = await build({
    configFile: false,
    root: web,
    logLevel: 'silent',
    build: { write: false, minify: true, lib: { entry: `${web}src/log/log-view.ts`, formats: ['iife'], name: 'OpsSightLog', fileName: 'log-view' } },
  });
  const outputs = Array.isArray(out) ? out : [out];
  const chunk = outputs.flatMap((o) => ('output' in o ? o.output : [])).find((c) => c.type === 'chunk');
  if (!chunk || chunk.type !== 'chunk') throw new Error('vite produced no chunk for log-view.ts');
  return chunk.code;
}

// Runs in the page (plain JS: this file is type-checked for Node). `mode` is 'view' or 'pre'.
const SCENARIO = String.raw`async ({ mode, rate, seconds, prefill }) => {
  const colours = [31, 32, 33, 34, 36];
  const line = (i) => i % 5 === 0
    ? '\x1b[1m\x1b[' + colours[i % colours.length] + 'mmodule.bench.terraform_data.item[' + i + ']\x1b[0m: Creating... [id=' + '0'.repeat(36) + ']'
    : '  + input = "value-' + i + '" # line ' + i + ' of the plan output, long enough to look like terraform';
  const box = document.getElementById('box');
  let rendered = 0;
  let append;
  if (mode === 'view') {
    const view = new window.OpsSightLog.LogView(box);
    append = (batch) => view.append(batch);
    rendered = () => view.lineCount;
  } else {
    const pre = document.createElement('pre');
    pre.style.margin = '0';
    box.append(pre);
    append = (batch) => {
      for (const l of batch) pre.append(document.createTextNode(l.text + '\n'));
      box.scrollTop = box.scrollHeight;
    };
  }
  let seq = 0;
  const batchOf = (n) => Array.from({ length: n }, () => ({ seq: ++seq, text: line(seq) }));
  for (let i = 0; i < prefill; i += 5000) append(batchOf(Math.min(5000, prefill - i)));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

  const frames = [];
  const timers = [];
  let stop = false;
  let last = performance.now();
  const frame = (t) => { frames.push(t - last); last = t; if (!stop) requestAnimationFrame(frame); };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(frame); });
  const probe = () => { const due = performance.now() + 50; setTimeout(() => { timers.push(performance.now() - due); if (!stop) probe(); }, 50); };
  probe();

  const perTick = Math.max(1, Math.round(rate / 100));
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      // Catch up to the schedule, as a socket delivering a backlog would.
      const due = Math.min(total, Math.round(((performance.now() - start) / 1000) * rate));
      while (sent < due) { const n = Math.min(perTick, due - sent); append(batchOf(n)); sent += n; }
      if (sent >= total) resolve(); else setTimeout(tick, 10);
    };
    tick();
  });
  // Rendered means on screen: wait for the frame that paints the last line.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const elapsed = (performance.now() - start) / 1000;
  stop = true;
  const shown = typeof rendered === 'function' ? rendered() - prefill : sent;
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const pct = (a, p) => a.length ? a[Math.min(a.length - 1, Math.ceil(p / 100 * a.length) - 1)] : NaN;
  const f = sorted(frames), tm = sorted(timers);
  return { rendered: shown / elapsed, seconds: elapsed, frameP50: pct(f, 50), frameP95: pct(f, 95), frameMax: f[f.length - 1], longFrames: frames.filter((x) => x > 50).length, timerP95: pct(tm, 95) };
}`;

async function main(): Promise<void> {
  const code = await bundleLogView();
  const css = fs.readFileSync(`${web}src/styles.css`, 'utf8');
  const browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  try {
    const rows: string[][] = [['prefill', 'mode', 'lines/s rendered', 'frame p50 ms', 'frame p95 ms', 'frame max ms', 'frames >50ms', 'timer delay p95 ms']];
    const ratios: string[][] = [['prefill', 'lines/s (view/pre)', 'frame p95 (pre/view)', 'frame max (pre/view)', 'timer delay p95 (pre/view)']];
    for (const prefill of PREFILLS) {
      const results: Record<string, Result> = {};
      for (const mode of ['pre', 'view'] as const) {
        const page = await browser.context.newPage();
        await page.setContent('<!doctype html><html><body><div id="box" class="logview" style="height:600px"></div></body></html>');
        await page.addStyleTag({ content: css });
        await page.addScriptTag({ content: code });
        results[mode] = (await page.evaluate(`(${SCENARIO})(${JSON.stringify({ mode, rate: RATE, seconds: SECONDS, prefill })})`)) as Result;
        await page.close();
        const r = results[mode]!;
        rows.push([String(prefill), mode === 'view' ? 'LogView' : '<pre>', fmt(r.rendered, 0), fmt(r.frameP50, 1), fmt(r.frameP95, 1), fmt(r.frameMax, 1), String(r.longFrames), fmt(r.timerP95, 1)]);
      }
      const v = results.view!;
      const p = results.pre!;
      ratios.push([String(prefill), fmt(v.rendered / p.rendered), fmt(p.frameP95 / v.frameP95), fmt(p.frameMax / v.frameMax), fmt(p.timerP95 / Math.max(v.timerP95, 0.1))]);
    }
    console.log(`log viewer: ${RATE} lines/s for ${SECONDS}s in headless Chromium (same browser, same lines)\n`);
    console.log(table(rows));
    console.log('\nratios (>1 = LogView better):\n');
    console.log(table(ratios));
  } finally {
    await browser.close();
  }
}

await main();
