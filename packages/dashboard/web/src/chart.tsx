/** A time-series plot (uPlot) that takes new points without being made again. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  color: string;
}

export interface ChartProps {
  title: string;
  unit: string;
  series: SeriesSpec[];
  /** Columns: times (s since the epoch), then one array per series (null: no value). */
  data: [number[], ...(number | null)[][]];
  testId: string;
  /** A log scale (latencies that span milliseconds to minutes). */
  log?: boolean;
}

export function Chart({ title, unit, series, data, testId, log }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: box.current.clientWidth || 600,
      height: 220,
      legend: { show: true },
      scales: {
        x: { time: true },
        y: log ? { distr: 3 } : { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [{}, { label: unit, size: 60 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false }))],
    };
    plot.current = new uPlot(opts, data, box.current);
    const resize = (): void => plot.current?.setSize({ width: box.current?.clientWidth ?? 600, height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = undefined;
    };
    // made once per set of series; new points go through setData below
  }, [series.map((s) => s.label).join()]);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return (
    <figure class="chart" data-testid={testId} data-points={data[0].length}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
