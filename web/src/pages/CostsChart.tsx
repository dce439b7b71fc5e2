import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * A time series drawn by uPlot: a small canvas chart library (about 50 kB, no dependencies) that draws
 * thousands of points without slowing the page; cost trends are exactly its kind of data.
 */
export function CostsChart({ title, x, series, height = 220 }: { title: string; x: number[]; series: Array<{ label: string; values: number[] }>; height?: number }) {
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
        axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => `$${t.toFixed(0)}`) }],
      },
      [x, ...series.map((s) => s.values)],
      box.current,
    );
    return () => chart.destroy();
  }, [title, x, series, height]);
  return <div ref={box} class="cost-chart" role="img" aria-label={title} />;
}
