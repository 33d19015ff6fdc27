// @gossamer/plot: charts of training runs rendered to SVG by Vega-Lite (headless, no canvas or DOM).
export {
  barChart,
  facetLines,
  lineChart,
  type AxisSpec,
  type BarChartSpec,
  type BarSeries,
  type ChartSize,
  type FacetLinesSpec,
  type LineChartSpec,
  type Panel,
  type ScaleKind,
  type Series,
} from './charts.js';
export { panelsFromRecords, type MetricPanelOption, type MetricRecord, type PanelsFromRecordsOptions } from './records.js';
export { PlotError, renderVegaLite, type RenderOptions } from './render.js';
