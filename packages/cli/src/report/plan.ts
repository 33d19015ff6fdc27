// Which plots a run gets, decided from its events alone (pure: no rendering, no files), so new event
// types from new algorithms are plotted without code changes here:
//   - the known single-run plots: training loss vs step (progress), test accuracy and test loss vs
//     epoch (eval), one line per worker;
//   - every other event type with a round/step/epoch field: one panel per numeric field vs that
//     field, one line per `worker` (e.g. `round` events: loss, accuracy, consensus distance, bytes…);
//   - run-level event types (`merged`, and any type that carries no `worker`): one series named after
//     the type (the mean over workers at each x), drawn dashed on the panel of the same metric and x
//     field when there is one (accuracy per worker plus merged), else on a plot of their own.
import { panelsFromRecords, type AxisSpec, type Panel, type ScaleKind, type Series } from '@gossamer/plot';
import type { MetricEvent } from './read.js';

export interface PlotPlan {
  /** File name under the run's plots/ directory, e.g. "train-loss.svg". */
  file: string;
  title: string;
  x: AxisSpec;
  /** One panel: a single line chart; several: small multiples sharing the legend. */
  panels: Panel[];
}

export interface PlotsPlan {
  plots: PlotPlan[];
  /** Event types that could not be plotted, and why (shown in report.md). */
  notes: string[];
}

/** Coordinates, in order of preference as the x axis of a generic event type. */
export const X_FIELDS = ['round', 'step', 'epoch'] as const;
/** Fields that are never plotted as metrics: identities, coordinates and clocks. */
const NOT_METRICS = new Set<string>(['type', 'worker', 'time', ...X_FIELDS]);
/** Types plotted by the known plots below, and types that are one-off summaries, not series. */
export const KNOWN_TYPES: ReadonlySet<string> = new Set(['progress', 'eval']);
export const SUMMARY_TYPES: ReadonlySet<string> = new Set(['start', 'done']);
/**
 * Types that describe the whole run rather than one worker, even when each worker reports them (every
 * worker emits the merged model's accuracy after the final merge). Types without `worker` are too.
 */
export const RUN_LEVEL_TYPES: ReadonlySet<string> = new Set(['merged']);

interface KnownPlot {
  file: string;
  title: string;
  type: string;
  x: (typeof X_FIELDS)[number];
  metric: string;
  label: string;
}

export const KNOWN_PLOTS: readonly KnownPlot[] = [
  { file: 'train-loss.svg', title: 'Training loss vs step', type: 'progress', x: 'step', metric: 'loss', label: 'training loss' },
  { file: 'test-accuracy.svg', title: 'Test accuracy vs epoch', type: 'eval', x: 'epoch', metric: 'testAccuracy', label: 'test accuracy' },
  { file: 'test-loss.svg', title: 'Test loss vs epoch', type: 'eval', x: 'epoch', metric: 'testLoss', label: 'test loss' },
];

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const hasWorker = (e: MetricEvent): boolean => typeof e.worker === 'string' || typeof e.worker === 'number';

/** "consensusDistance" → "consensus distance", "computeMs" → "compute (ms)". */
export function humanize(field: string): string {
  const ms = /Ms$/.test(field);
  const words = (ms ? field.slice(0, -2) : field)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
  return ms ? `${words} (ms)` : words;
}

/**
 * Log scale when the values are non-negative and their positive part spans three decades or more
 * (consensus distance, bytes): a linear axis would show one corner and a flat line.
 */
export function scaleFor(values: readonly number[]): ScaleKind {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0 || finite.some((v) => v < 0)) return 'linear';
  const positive = finite.filter((v) => v > 0);
  if (positive.length < 2) return 'linear';
  return Math.max(...positive) / Math.min(...positive) >= 1e3 ? 'log' : 'linear';
}

export function groupByType(events: readonly MetricEvent[]): Map<string, MetricEvent[]> {
  const byType = new Map<string, MetricEvent[]>();
  for (const e of events) {
    let list = byType.get(e.type);
    if (!list) byType.set(e.type, (list = []));
    list.push(e);
  }
  return byType;
}

export function xFieldOf(events: readonly MetricEvent[]): (typeof X_FIELDS)[number] | undefined {
  return X_FIELDS.find((field) => events.some((e) => isFiniteNumber(e[field])));
}

export function metricFieldsOf(events: readonly MetricEvent[]): string[] {
  const fields: string[] = [];
  for (const e of events) {
    for (const [key, value] of Object.entries(e)) {
      if (!NOT_METRICS.has(key) && isFiniteNumber(value) && !fields.includes(key)) fields.push(key);
    }
  }
  return fields;
}

function valuesOf(events: readonly MetricEvent[], metric: string): number[] {
  return events.map((e) => e[metric]).filter(isFiniteNumber);
}

/**
 * Run-level events as one series named after their type: where several workers report the same
 * x (each worker emits the merged model's accuracy), the mean of what they report.
 */
function runLevelRecords(events: readonly MetricEvent[], x: string): MetricEvent[] {
  const byX = new Map<number, Map<string, { sum: number; count: number }>>();
  for (const e of events) {
    const at = e[x];
    if (!isFiniteNumber(at)) continue;
    let fields = byX.get(at);
    if (!fields) byX.set(at, (fields = new Map()));
    for (const [key, value] of Object.entries(e)) {
      if (NOT_METRICS.has(key) || !isFiniteNumber(value)) continue;
      const acc = fields.get(key) ?? { sum: 0, count: 0 };
      fields.set(key, { sum: acc.sum + value, count: acc.count + 1 });
    }
  }
  const type = events[0]?.type ?? 'run';
  return [...byX].map(([at, fields]) => ({
    type,
    worker: type,
    [x]: at,
    ...Object.fromEntries([...fields].map(([key, { sum, count }]) => [key, sum / count])),
  }));
}

/** One panel per metric: a series per worker, or one named after the type for run-level events. */
function panelsFor(
  events: readonly MetricEvent[],
  x: string,
  metrics: readonly { metric: string; title: string; label: string }[],
  runLevel = false,
): Panel[] {
  const records = runLevel ? runLevelRecords(events, x) : events.filter(hasWorker);
  return panelsFromRecords(records, {
    x,
    seriesBy: 'worker',
    metrics: metrics.map((m) => ({ ...m, scale: scaleFor(valuesOf(events, m.metric)) })),
  });
}

function slug(text: string): string {
  return text.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'events';
}

/** Plans the plots of a run's events (see the file comment for the rules). */
export function planPlots(events: readonly MetricEvent[]): PlotsPlan {
  const byType = groupByType(events);
  const plots: PlotPlan[] = [];
  const notes: string[] = [];
  const files = new Set<string>();
  const uniqueFile = (base: string): string => {
    let file = `${base}.svg`;
    for (let n = 2; files.has(file); n++) file = `${base}-${n}.svg`;
    files.add(file);
    return file;
  };
  // Where a run-level series of (x field, metric) can join per-worker lines.
  const slots = new Map<string, { plot: PlotPlan; index: number }>();
  const slotKey = (x: string, metric: string) => `${x}\u0000${metric}`;

  for (const known of KNOWN_PLOTS) {
    const list = byType.get(known.type)?.filter(hasWorker) ?? [];
    const [panel] = panelsFor(list, known.x, [{ metric: known.metric, title: known.label, label: known.label }]);
    if (!panel) continue;
    const plot: PlotPlan = { file: uniqueFile(known.file.replace(/\.svg$/, '')), title: known.title, x: { label: known.x }, panels: [panel] };
    plots.push(plot);
    slots.set(slotKey(known.x, known.metric), { plot, index: 0 });
  }

  const runLevelTypes: [string, MetricEvent[], (typeof X_FIELDS)[number]][] = [];
  for (const [type, list] of byType) {
    if (SUMMARY_TYPES.has(type) || KNOWN_TYPES.has(type)) continue;
    const x = xFieldOf(list);
    if (!x) {
      notes.push(`"${type}" events have no ${X_FIELDS.join('/')} field: not plotted`);
      continue;
    }
    if (RUN_LEVEL_TYPES.has(type) || !list.some(hasWorker)) {
      runLevelTypes.push([type, list, x]);
      continue;
    }
    const metrics = metricFieldsOf(list);
    const panels = panelsFor(list, x, metrics.map((metric) => ({ metric, title: humanize(metric), label: humanize(metric) })));
    if (panels.length === 0) {
      notes.push(`"${type}" events have no numeric fields: not plotted`);
      continue;
    }
    const plot: PlotPlan = { file: uniqueFile(slug(type)), title: `"${type}" events: metrics vs ${x}, per worker`, x: { label: x }, panels };
    plots.push(plot);
    for (const metric of metrics) {
      const index = panels.findIndex((p) => p.title === humanize(metric));
      if (index >= 0) slots.set(slotKey(x, metric), { plot, index });
    }
  }

  for (const [type, list, x] of runLevelTypes) {
    const own: { metric: string; title: string; label: string }[] = [];
    for (const metric of metricFieldsOf(list)) {
      const slot = slots.get(slotKey(x, metric));
      const [panel] = panelsFor(list, x, [{ metric, title: humanize(metric), label: humanize(metric) }], true);
      if (!panel) continue;
      const series: Series = { ...panel.series[0], dashed: true };
      const target = slot?.plot.panels[slot.index];
      if (slot && target && !target.series.some((s) => s.name === series.name)) {
        slot.plot.panels[slot.index] = { ...target, series: [...target.series, series] };
      } else {
        own.push({ metric, title: humanize(metric), label: humanize(metric) });
      }
    }
    if (own.length === 0) continue;
    plots.push({ file: uniqueFile(slug(type)), title: `"${type}" events: metrics vs ${x}`, x: { label: x }, panels: panelsFor(list, x, own, true) });
  }
  return { plots, notes };
}
