import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * A time series drawn by uPlot: a small canvas chart library (about 50 kB, no dependencies) that draws
 * thousands of points without slowing the page. `x` is in seconds since the epoch; `format` labels the
 * value axis (cost trends in dollars, run counts as they are).
 */
export function TimeChart({ title, x, series, height = 220, format = (n) => String(n) }: { title: string; x: number[]; series: Array<{ label: string; values: number[] }>; height?: number; format?: (n: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || x.length === 0) return;
    const colours = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
    const chart = new uPlot(
      {
        title,
        width: box.current.clientWidth || 600,
        height,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 2 }))],
        axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map(format) }],
      },
      [x, ...series.map((s) => s.values)],
      box.current,
    );
    return () => chart.destroy();
  }, [title, x, series, height, format]);
  return <div ref={box} class="time-chart" role="img" aria-label={title} />;
}
