import type { TopLevelSpec } from 'vega-lite';
import { renderVegaLite, type RenderOptions } from './render.js';

export type ScaleKind = 'linear' | 'log';

export interface AxisSpec {
  /** Axis title, e.g. "round" or "loss". */
  label: string;
  /**
   * 'linear' (default) or 'log'. On a log axis, points whose value there is ≤ 0 are left out (a log
   * scale cannot show them; a consensus distance of exactly 0 at round 0 is the usual case).
   */
  scale?: ScaleKind;
}

export interface Series {
  /** Legend entry; names must be distinct within a chart. */
  name: string;
  /** [x, y] points; drawn in x order. Points with a non-finite coordinate are left out. */
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw dashed (e.g. the merged model among per-worker lines). */
  dashed?: boolean;
}

export interface ChartSize {
  /** Plot area width in pixels (default 480; per panel in facetLines, default 320). */
  width?: number;
  /** Plot area height in pixels (default 280; per panel in facetLines, default 200). */
  height?: number;
}

export interface LineChartSpec extends ChartSize {
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  series: readonly Series[];
  /** Legend title (default: none). */
  legendTitle?: string;
}

export interface BarSeries {
  /** Legend entry; names must be distinct. */
  name: string;
  /** One value per category, in the order of `categories`; null or NaN leaves that bar out. */
  values: ReadonlyArray<number | null>;
}

export interface BarChartSpec extends ChartSize {
  title: string;
  /** Title of the category axis. */
  x: { label: string };
  y: AxisSpec;
  /** The groups along the x axis, in order (e.g. algorithms). */
  categories: readonly string[];
  /** The bars within each group (e.g. metrics or workers), in order. */
  series: readonly BarSeries[];
  legendTitle?: string;
}

export interface Panel {
  /** The panel's own title, e.g. "loss". */
  title: string;
  y: AxisSpec;
  series: readonly Series[];
  /** Overrides the chart's shared x axis for this panel. */
  x?: AxisSpec;
}

export interface FacetLinesSpec extends ChartSize {
  /** Title over all panels. */
  title: string;
  /** The x axis every panel shares unless it sets its own (e.g. round). */
  x: AxisSpec;
  panels: readonly Panel[];
  /** Panels per row (default 2). */
  columns?: number;
  legendTitle?: string;
}

const DASH_SOLID = [1, 0];
const DASH_DASHED = [6, 4];

function checkNames(kind: string, names: readonly string[]): void {
  if (names.length === 0) throw new RangeError(`${kind}: no series to plot`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`${kind}: series name "${name}" appears twice`);
    seen.add(name);
  }
}

function checkSize(kind: string, value: number | undefined, fallback: number): number {
  const size = value ?? fallback;
  if (!Number.isFinite(size) || size <= 0) throw new RangeError(`${kind}: width/height must be positive, got ${value}`);
  return size;
}

function scaleOf(axis: AxisSpec): { type: ScaleKind; zero?: boolean } {
  return axis.scale === 'log' ? { type: 'log' } : { type: 'linear', zero: false };
}

interface LineRow {
  series: string;
  x: number;
  y: number;
  dashed: boolean;
}

function lineRows(series: readonly Series[], x: AxisSpec, y: AxisSpec): LineRow[] {
  const rows: LineRow[] = [];
  for (const s of series) {
    for (const [px, py] of s.points) {
      if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
      if ((x.scale === 'log' && px <= 0) || (y.scale === 'log' && py <= 0)) continue;
      rows.push({ series: s.name, x: px, y: py, dashed: s.dashed === true });
    }
  }
  return rows;
}

/** The Vega-Lite unit spec of one line chart (no top-level properties). */
function lineLayer(
  series: readonly Series[],
  domain: readonly string[],
  x: AxisSpec,
  y: AxisSpec,
  legendTitle: string | undefined,
  anyDashed: boolean,
): Record<string, unknown> {
  // A line through one point draws nothing: markers make single-point series (e.g. the merged model,
  // measured once at the end) and short series visible; long series stay plain lines.
  const markers = series.some((s) => s.points.length === 1) || series.every((s) => s.points.length <= 40);
  return {
    data: { values: lineRows(series, x, y) },
    mark: { type: 'line', strokeWidth: 1.75, clip: true, ...(markers ? { point: { filled: true, size: 28 } } : {}) },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: x.label, scale: scaleOf(x) },
      y: { field: 'y', type: 'quantitative', title: y.label, scale: scaleOf(y) },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: [...domain] },
        sort: [...domain],
        legend: { title: legendTitle ?? null },
      },
      // A conditional value, not a field: dashing adds no legend and nothing to the marks' ARIA labels.
      ...(anyDashed ? { strokeDash: { condition: { test: 'datum.dashed', value: DASH_DASHED }, value: DASH_SOLID } } : {}),
    },
  };
}

const BASE_CONFIG = {
  background: 'white',
  font: 'sans-serif',
  title: { fontSize: 14, anchor: 'start' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.5 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 240 },
  view: { stroke: '#ccc' },
} as const;

/**
 * A line chart of one or more series, as an SVG document: e.g. loss vs round, one line per worker.
 *
 * ```ts
 * const svg = await lineChart({
 *   title: 'Training loss', x: { label: 'round' }, y: { label: 'loss', scale: 'log' },
 *   series: [{ name: 'w1', points: [[0, 2.3], [1, 1.1]] }, { name: 'merged', points: [[1, 0.9]], dashed: true }],
 * });
 * ```
 */
export async function lineChart(spec: LineChartSpec, options: RenderOptions = {}): Promise<string> {
  const names = spec.series.map((s) => s.name);
  checkNames('lineChart', names);
  const vl = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: spec.title,
    width: checkSize('lineChart', spec.width, 480),
    height: checkSize('lineChart', spec.height, 280),
    config: BASE_CONFIG,
    ...lineLayer(spec.series, names, spec.x, spec.y, spec.legendTitle, spec.series.some((s) => s.dashed)),
  } as TopLevelSpec;
  return renderVegaLite(vl, options);
}

/**
 * A grouped bar chart, as an SVG document: one group per category along x, one bar per series in
 * each group (e.g. final accuracy per algorithm, one bar per dataset).
 */
export async function barChart(spec: BarChartSpec, options: RenderOptions = {}): Promise<string> {
  const names = spec.series.map((s) => s.name);
  checkNames('barChart', names);
  if (spec.categories.length === 0) throw new RangeError('barChart: no categories');
  if (new Set(spec.categories).size !== spec.categories.length) throw new RangeError('barChart: categories must be distinct');
  const rows: { category: string; series: string; value: number }[] = [];
  for (const s of spec.series) {
    if (s.values.length !== spec.categories.length) {
      throw new RangeError(`barChart: series "${s.name}" has ${s.values.length} values for ${spec.categories.length} categories`);
    }
    s.values.forEach((value, i) => {
      if (value === null || !Number.isFinite(value)) return;
      if (spec.y.scale === 'log' && value <= 0) return;
      rows.push({ category: spec.categories[i], series: s.name, value });
    });
  }
  const width = checkSize('barChart', spec.width, 480);
  // Labels wider than their band (about 6 px a character at the base font size) are slanted, not cut.
  const widest = Math.max(0, ...spec.categories.map((c) => c.length));
  const slanted = widest * 6 > width / Math.max(1, spec.categories.length);
  const vl = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: spec.title,
    width,
    height: checkSize('barChart', spec.height, 280),
    config: BASE_CONFIG,
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'category', type: 'nominal', title: spec.x.label, sort: [...spec.categories], axis: slanted ? { labelAngle: -30, labelLimit: 240 } : { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: names, scale: { domain: names } },
      y: {
        field: 'value',
        type: 'quantitative',
        title: spec.y.label,
        scale: spec.y.scale === 'log' ? { type: 'log' } : { type: 'linear' },
      },
      color: { field: 'series', type: 'nominal', scale: { domain: names }, sort: names, legend: { title: spec.legendTitle ?? null } },
    },
  } as TopLevelSpec;
  return renderVegaLite(vl, options);
}

/**
 * Several line charts side by side in one SVG (small multiples), sharing one legend and one color per
 * series name across panels: e.g. loss, accuracy, consensus distance and bytes vs round, one line per
 * worker plus the merged model.
 */
export async function facetLines(spec: FacetLinesSpec, options: RenderOptions = {}): Promise<string> {
  if (spec.panels.length === 0) throw new RangeError('facetLines: no panels');
  const columns = spec.columns ?? 2;
  if (!Number.isInteger(columns) || columns < 1) throw new RangeError(`facetLines: columns must be a positive integer, got ${columns}`);
  const width = checkSize('facetLines', spec.width, 320);
  const height = checkSize('facetLines', spec.height, 200);
  // One color domain over all panels, in first-appearance order, so a worker has one color everywhere.
  const domain: string[] = [];
  for (const panel of spec.panels) {
    checkNames(`facetLines panel "${panel.title}"`, panel.series.map((s) => s.name));
    for (const s of panel.series) if (!domain.includes(s.name)) domain.push(s.name);
  }
  const anyDashed = spec.panels.some((p) => p.series.some((s) => s.dashed));
  const vl = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: spec.title,
    config: BASE_CONFIG,
    columns,
    concat: spec.panels.map((panel) => ({
      title: panel.title,
      width,
      height,
      ...lineLayer(panel.series, domain, panel.x ?? spec.x, panel.y, spec.legendTitle, anyDashed),
    })),
    resolve: { scale: { color: 'shared', strokeDash: 'shared' }, legend: { color: 'shared' } },
  } as TopLevelSpec;
  return renderVegaLite(vl, options);
}
