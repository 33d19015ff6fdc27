// report.md: the run's configuration, its final metrics and links to its plots, as markdown (pure).
import { basename } from 'node:path';
import { formatDuration } from '../progress.js';
import { markdownTable, percent } from '../format.js';
import { groupByType, hasWorker, humanize, KNOWN_TYPES, metricFieldsOf, SUMMARY_TYPES, xFieldOf } from './plan.js';
import type { MetricEvent } from './read.js';

export interface ReportInput {
  runDir: string;
  config: Readonly<Record<string, unknown>> | undefined;
  events: readonly MetricEvent[];
  /** Plot files relative to the run directory (e.g. "plots/train-loss.svg") with their titles. */
  plots: readonly { title: string; path: string }[];
  /** Warnings and notes to list at the end (skipped lines, unplotted event types). */
  notes: readonly string[];
  generatedAt: Date;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return markdownTable(header, rows, { padded: false }).split('\n');
}

/** Numbers as people read them: accuracies in percent, durations in ms or s, integers whole, others to 4 significant digits. */
export function formatMetric(field: string, value: unknown): string {
  if (typeof value !== 'number') return value === undefined || value === null ? '–' : String(value);
  if (!Number.isFinite(value)) return String(value);
  if (/accuracy/i.test(field) && value >= 0 && value <= 1) return percent(value);
  if (/Ms$/.test(field)) return value < 10_000 ? `${Number(value.toPrecision(3))} ms` : formatDuration(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function configValue(value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
      .join(', ');
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const seriesOf = (e: MetricEvent): string => (hasWorker(e) ? String(e.worker) : e.type);

/** The last event of each worker (or of the run, for events without a worker), in first-seen order. */
function lastPerSeries(events: readonly MetricEvent[]): Map<string, MetricEvent> {
  const last = new Map<string, MetricEvent>();
  for (const e of events) last.set(seriesOf(e), e);
  return last;
}

/** Column title of a metric field: its words, without the unit that formatMetric writes itself. */
function columnTitle(field: string): string {
  return humanize(field).replace(/ \(ms\)$/, '');
}

function finalMetrics(events: readonly MetricEvent[]): string[] {
  const byType = groupByType(events);
  const lines: string[] = [];
  const done = byType.get('done') ?? [];
  if (done.length > 0) {
    // Whatever the workers report when done (single-worker and distributed runs report different things).
    const fields = metricFieldsOf(done);
    const rows = [...lastPerSeries(done)].map(([worker, e]) => [worker, ...fields.map((f) => formatMetric(f, e[f]))]);
    lines.push(...table(['worker', ...fields.map(columnTitle)], rows), '');
  } else {
    lines.push('The run did not finish: there is no `done` event.', '');
    const evals = byType.get('eval') ?? [];
    if (evals.length > 0) {
      lines.push('Last evaluation:', '');
      const rows = [...lastPerSeries(evals)].map(([worker, e]) => [
        worker,
        formatMetric('step', e.step),
        formatMetric('epoch', e.epoch),
        formatMetric('testAccuracy', e.testAccuracy),
        formatMetric('testLoss', e.testLoss),
      ]);
      lines.push(...table(['worker', 'step', 'epoch', 'test accuracy', 'test loss'], rows), '');
    }
  }
  // Other event types (from the distributed algorithms): their last values, per worker.
  for (const [type, list] of byType) {
    if (SUMMARY_TYPES.has(type) || KNOWN_TYPES.has(type)) continue;
    const x = xFieldOf(list);
    const metrics = metricFieldsOf(list);
    if (metrics.length === 0) continue;
    const header = [list.some(hasWorker) ? 'worker' : 'event', ...(x ? [x] : []), ...metrics.map(columnTitle)];
    const rows = [...lastPerSeries(list)].map(([name, e]) => [name, ...(x ? [formatMetric(x, e[x])] : []), ...metrics.map((m) => formatMetric(m, e[m]))]);
    lines.push(`Last \`${type}\` event${list.some(hasWorker) ? ' of each worker' : ''}:`, '', ...table(header, rows), '');
  }
  return lines;
}

/** The whole report.md text. */
export function reportMarkdown(input: ReportInput): string {
  const lines: string[] = [`# Run report: ${basename(input.runDir)}`, ''];
  lines.push(`Run directory \`${input.runDir}\`, report written by \`gossamer report\` at ${input.generatedAt.toISOString()}.`, '');

  lines.push('## Configuration', '');
  if (input.config) {
    lines.push(...table(['setting', 'value'], Object.entries(input.config).map(([k, v]) => [k, configValue(v)])), '');
  } else {
    lines.push('No readable config.json in the run directory.', '');
  }

  lines.push('## Final metrics', '', ...finalMetrics(input.events));

  lines.push('## Plots', '');
  if (input.plots.length === 0) lines.push('The events hold no series to plot.', '');
  for (const plot of input.plots) lines.push(`### ${plot.title}`, '', `![${plot.title}](${plot.path})`, '');

  const counts = [...groupByType(input.events)].map(([type, list]) => `${list.length} \`${type}\``);
  lines.push('## Events', '', `${input.events.length} events: ${counts.join(', ')}.`, '');
  if (input.notes.length > 0) lines.push('Notes:', '', ...input.notes.map((n) => `- ${n}`), '');
  return `${lines.join('\n').trimEnd()}\n`;
}
