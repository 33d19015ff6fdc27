import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Thrown when Vega-Lite or Vega reports an error while compiling or rendering a chart. */
export class PlotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlotError';
  }
}

export interface RenderOptions {
  /** Receives Vega's and Vega-Lite's warnings (default: dropped; nothing is ever printed). */
  onWarning?: (message: string) => void;
}

function format(args: readonly unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
}

/** A Vega logger that prints nothing: warnings go to `onWarning`, errors are kept to throw. */
class QuietLogger implements vega.LoggerInterface {
  readonly errors: string[] = [];
  private current = vega.Warn;

  constructor(private readonly onWarning?: (message: string) => void) {}

  level(): number;
  level(value: number): this;
  level(value?: number): number | this {
    if (value === undefined) return this.current;
    this.current = value;
    return this;
  }
  error(...args: unknown[]): this {
    this.errors.push(format(args));
    return this;
  }
  warn(...args: unknown[]): this {
    if (this.current >= vega.Warn) this.onWarning?.(format(args));
    return this;
  }
  info(): this {
    return this;
  }
  debug(): this {
    return this;
  }
}

/**
 * Vega numbers clip paths and gradients from process-wide counters (clip7, gradient3, ...), so the
 * same chart would differ between renders. Renumbers them from 1 in order of appearance: the same
 * input gives byte-identical SVG.
 */
function renumberIds(svg: string): string {
  const ids = new Map<string, string>();
  const counters = new Map<string, number>();
  for (const m of svg.matchAll(/\bid="(clip|gradient|pattern)(\d+)"/g)) {
    const old = `${m[1]}${m[2]}`;
    if (ids.has(old)) continue;
    const n = (counters.get(m[1]) ?? 0) + 1;
    counters.set(m[1], n);
    ids.set(old, `${m[1]}${n}`);
  }
  if (ids.size === 0) return svg;
  return svg.replace(/\b(id="|url\(#|href="#)(clip|gradient|pattern)(\d+)\b/g, (whole, prefix: string, kind: string, n: string) => {
    const next = ids.get(`${kind}${n}`);
    return next === undefined ? whole : `${prefix}${next}`;
  });
}

/**
 * Renders any Vega-Lite spec to an SVG document, headless (no canvas, no DOM): the low-level entry
 * the chart functions use, for plots they do not cover.
 */
export async function renderVegaLite(spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  const logger = new QuietLogger(options.onWarning);
  let compiled: ReturnType<typeof compile>;
  try {
    compiled = compile(spec, { logger });
  } catch (err) {
    throw new PlotError(`Vega-Lite could not compile the chart: ${err instanceof Error ? err.message : String(err)}`);
  }
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    if (logger.errors.length > 0) throw new PlotError(`Vega could not render the chart: ${logger.errors.join('; ')}`);
    return renumberIds(svg);
  } finally {
    view.finalize();
  }
}
