// `gossamer report`: a run directory's metrics → SVG plots under <run>/plots/ and <run>/report.md.
// Reads, plans, renders and writes; never prints (the command reports what happened).
import { mkdirSync, writeFileSync } from 'node:fs';
import { svgToPng } from './png.js';
import { join } from 'node:path';
import { facetLines, lineChart } from '@gossamer/plot';
import { reportMarkdown } from './markdown.js';
import { planPlots, type PlotPlan } from './plan.js';
import { readRunDir } from './read.js';

export { formatMetric, reportMarkdown, type ReportInput } from './markdown.js';
export { humanize, KNOWN_PLOTS, planPlots, scaleFor, X_FIELDS, type PlotPlan, type PlotsPlan } from './plan.js';
export { parseMetricsLines, readRunDir, RunDirError, type MetricEvent, type ParsedMetrics, type RunData } from './read.js';

export const PLOTS_DIR = 'plots';
export const REPORT_FILE = 'report.md';

export interface WrittenPlot {
  title: string;
  /** Relative to the run directory, e.g. "plots/train-loss.svg". */
  path: string;
  /** Panel titles, e.g. ["loss", "accuracy", "consensus distance"]. */
  panels: string[];
  /** Series names over all panels, e.g. ["w0", "w1", "merged"]. */
  series: string[];
}

export interface ReportResult {
  runDir: string;
  plots: WrittenPlot[];
  /** Absolute path of report.md. */
  report: string;
  events: number;
  /** Things the user should know: skipped lines, a missing config, unplotted event types. */
  warnings: string[];
}

export interface WriteReportOptions {
  /** The time written into report.md (tests pin it). */
  now?: Date;
}

/** Renders one planned plot: a single line chart, or small multiples sharing a legend. */
export async function renderPlot(plan: PlotPlan, onWarning: (message: string) => void): Promise<string> {
  const legendTitle = 'worker';
  if (plan.panels.length === 1) {
    const [panel] = plan.panels;
    return lineChart({ title: plan.title, x: panel.x ?? plan.x, y: panel.y, series: panel.series, legendTitle }, { onWarning });
  }
  return facetLines({ title: plan.title, x: plan.x, panels: plan.panels, legendTitle, columns: 2 }, { onWarning });
}

/** Reads `runDir`, writes its plots and report.md; throws RunDirError when it is not a usable run directory. */
export async function writeReport(runDir: string, options: WriteReportOptions = {}): Promise<ReportResult> {
  const run = readRunDir(runDir);
  const { plots: plans, notes } = planPlots(run.events);
  const warnings = [...run.warnings];
  const plotsDir = join(runDir, PLOTS_DIR);
  mkdirSync(plotsDir, { recursive: true });
  const plots: WrittenPlot[] = [];
  for (const plan of plans) {
    const svg = await renderPlot(plan, (message) => warnings.push(`${plan.file}: ${message}`));
    writeFileSync(join(plotsDir, plan.file), svg);
    writeFileSync(join(plotsDir, plan.file.replace(/\.svg$/, '.png')), svgToPng(svg));
    const series = [...new Set(plan.panels.flatMap((p) => p.series.map((s) => s.name)))];
    plots.push({ title: plan.title, path: `${PLOTS_DIR}/${plan.file}`, panels: plan.panels.map((p) => p.title), series });
  }
  const report = join(runDir, REPORT_FILE);
  writeFileSync(
    report,
    reportMarkdown({ runDir, config: run.config, events: run.events, plots, notes: [...warnings, ...notes], generatedAt: options.now ?? new Date() }),
  );
  return { runDir, plots, report, events: run.events.length, warnings: [...warnings, ...notes] };
}
