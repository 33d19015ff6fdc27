import type { Panel, ScaleKind, Series } from './charts.js';

/** One metrics line of a run, e.g. `{ round: 3, worker: 'w1', loss: 0.41, accuracy: 0.87 }`. */
export type MetricRecord = Readonly<Record<string, unknown>>;

export interface MetricPanelOption {
  /** The record field plotted on y, e.g. "loss". */
  metric: string;
  /** Panel title (default: the metric name). */
  title?: string;
  /** y-axis title (default: the metric name). */
  label?: string;
  scale?: ScaleKind;
}

export interface PanelsFromRecordsOptions {
  /** The record field on x, e.g. "round". */
  x: string;
  /** The record field naming the series, e.g. "worker" (values such as "w1", "w2", "merged"). */
  seriesBy: string;
  metrics: readonly MetricPanelOption[];
  /** Series drawn dashed, e.g. ["merged"]. */
  dashed?: readonly string[];
}

/**
 * Turns metric records (a run's JSON lines) into facetLines panels: one panel per metric, one series
 * per value of `seriesBy`, points sorted by x. Records whose x, series or metric is missing or not a
 * finite number are skipped for that metric; a metric with no points gets no panel.
 */
export function panelsFromRecords(records: readonly MetricRecord[], options: PanelsFromRecordsOptions): Panel[] {
  const panels: Panel[] = [];
  const dashed = new Set(options.dashed ?? []);
  for (const m of options.metrics) {
    const bySeries = new Map<string, [number, number][]>();
    for (const record of records) {
      const x = record[options.x];
      const y = record[m.metric];
      const name = record[options.seriesBy];
      if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (typeof name !== 'string' && typeof name !== 'number') continue;
      const key = String(name);
      let points = bySeries.get(key);
      if (!points) bySeries.set(key, (points = []));
      points.push([x, y]);
    }
    if (bySeries.size === 0) continue;
    const series: Series[] = [...bySeries].map(([name, points]) => ({
      name,
      points: points.sort((a, b) => a[0] - b[0]),
      ...(dashed.has(name) ? { dashed: true } : {}),
    }));
    panels.push({ title: m.title ?? m.metric, y: { label: m.label ?? m.metric, scale: m.scale ?? 'linear' }, series });
  }
  return panels;
}
