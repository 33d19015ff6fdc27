import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  barChart,
  facetLines,
  lineChart,
  panelsFromRecords,
  renderVegaLite,
  type MetricRecord,
  type Series,
} from '@gossamer/plot';
import { byClass, linePaths, legendLabels, parseSvg, texts, type SvgElement } from './svg-dom.js';

function titleTexts(svg: SvgElement): string[] {
  return byClass(svg, 'role-title-text').flatMap(texts);
}
function axisTitles(svg: SvgElement): string[] {
  return byClass(svg, 'role-axis-title').flatMap(texts);
}

const workers: Series[] = [
  { name: 'w1', points: [[0, 2.3], [1, 1.2], [2, 0.7], [3, 0.45]] },
  { name: 'w2', points: [[0, 2.4], [1, 1.4], [2, 0.8], [3, 0.5]] },
  { name: 'merged', points: [[0, 2.35], [3, 0.4]], dashed: true },
];

describe('svg-dom (the test reader) rejects malformed XML', () => {
  it.each([
    ['<svg><g></svg>', /closes/],
    ['<svg><text>a < b</text></svg>', /raw < or &/],
    ['<svg a="1" a="2"/>', /duplicate attribute/],
    ['<svg><g>', /never closed/],
    ['<svg/><svg/>', /more than one root/],
  ])('%s', (source, error) => {
    expect(() => parseSvg(source)).toThrow(error);
  });
});

describe('lineChart', () => {
  it('is a well-formed SVG with one path per series, the legend, the title and both axis titles', async () => {
    const svg = await lineChart({ title: 'Training loss', x: { label: 'round' }, y: { label: 'loss' }, series: workers });
    expect(svg.startsWith('<svg')).toBe(true);
    const root = parseSvg(svg);
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(Number(root.attrs.width)).toBeGreaterThan(480);

    const paths = linePaths(root);
    expect(paths.map((p) => p.series)).toEqual(['w1', 'w2', 'merged']);
    for (const p of paths) expect(p.d).toMatch(/^M[\d.,-]+(L[\d.,-]+)+$/);
    // A line through n points has n - 1 segments.
    expect(paths.map((p) => (p.d.match(/L/g) ?? []).length)).toEqual([3, 3, 1]);
    expect(new Set(paths.map((p) => p.stroke)).size).toBe(3);
    expect(paths.map((p) => p.dash)).toEqual(['1,0', '1,0', '6,4']);

    expect(legendLabels(root)).toEqual(['w1', 'w2', 'merged']);
    expect(titleTexts(root)).toEqual(['Training loss']);
    expect(axisTitles(root)).toEqual(['round', 'loss']);
  });

  it('draws a log y axis, leaving out the points it cannot show', async () => {
    const root = parseSvg(
      await lineChart({
        title: 'Consensus distance',
        x: { label: 'round' },
        y: { label: 'distance', scale: 'log' },
        series: [{ name: 'all', points: [[0, 0], [1, 1e-1], [2, 1e-2], [3, 1e-3], [4, Number.NaN]] }],
      }),
    );
    const [path] = linePaths(root);
    expect((path.d.match(/L/g) ?? []).length).toBe(2); // 3 positive, finite points
    const yLabels = byClass(root, 'role-axis-label').flatMap(texts);
    expect(yLabels).toEqual(expect.arrayContaining(['0.001', '0.01', '0.1']));
  });

  it('escapes titles, labels and series names', async () => {
    const svg = await lineChart({
      title: 'a < b & "c"',
      x: { label: 'x <1>' },
      y: { label: 'y & z' },
      series: [{ name: '<w1>', points: [[0, 1], [1, 2]] }],
    });
    const root = parseSvg(svg);
    expect(titleTexts(root)).toEqual(['a < b & "c"']);
    expect(axisTitles(root)).toEqual(['x <1>', 'y & z']);
    expect(legendLabels(root)).toEqual(['<w1>']);
  });

  it('is deterministic: the same chart gives byte-identical SVG (clip-path ids renumbered from 1)', async () => {
    const spec = { title: 'loss', x: { label: 'round' }, y: { label: 'loss' }, series: workers };
    const first = await lineChart(spec);
    await barChart({ title: 'b', x: { label: 'x' }, y: { label: 'y' }, categories: ['a'], series: [{ name: 's', values: [1] }] });
    expect(await lineChart(spec)).toBe(first);
    const root = parseSvg(first);
    const clipIds = byClass(root, 'mark-line').map((g) => g.attrs['clip-path']);
    expect(clipIds).toEqual(['url(#clip1)', 'url(#clip2)', 'url(#clip3)']);
    const defined = root.children.filter((c) => c.name === 'defs').flatMap((d) => d.children.map((c) => c.attrs.id));
    // One clip per line mark, plus one for the point markers short series get; numbered from 1.
    expect(defined).toEqual(defined.map((_, i) => `clip${i + 1}`));
    expect(defined).toEqual(expect.arrayContaining(['clip1', 'clip2', 'clip3']));
  });

  it('rejects no series, duplicate names and bad sizes', async () => {
    const base = { title: 't', x: { label: 'x' }, y: { label: 'y' } };
    await expect(lineChart({ ...base, series: [] })).rejects.toThrow(/no series/);
    await expect(lineChart({ ...base, series: [workers[0], workers[0]] })).rejects.toThrow(/"w1" appears twice/);
    await expect(lineChart({ ...base, series: workers, width: 0 })).rejects.toThrow(/positive/);
  });
});

describe('barChart', () => {
  it('draws grouped bars: one rect per value, categories on x, series in the legend', async () => {
    const svg = await barChart({
      title: 'Final accuracy',
      x: { label: 'algorithm' },
      y: { label: 'accuracy' },
      categories: ['dsgd', 'co2', 'allreduce'],
      series: [
        { name: 'mnist', values: [0.91, 0.9, 0.92] },
        { name: 'synthetic', values: [0.8, null, 0.83] },
      ],
    });
    const root = parseSvg(svg);
    const bars = byClass(root, 'mark-rect', 'role-mark').flatMap((g) => g.children.filter((c) => c.name === 'path'));
    expect(bars).toHaveLength(5);
    const labels = bars.map((b) => b.attrs['aria-label']);
    expect(labels).toContain('algorithm: co2; accuracy: 0.9; series: mnist');
    expect(labels.filter((l) => l.includes('series: synthetic'))).toHaveLength(2);
    // Bars of one category sit side by side: distinct x positions within a group.
    const xOf = (b: SvgElement): number => Number(/^M([\d.]+)/.exec(b.attrs.d ?? '')?.[1]);
    const dsgd = bars.filter((b) => b.attrs['aria-label'].startsWith('algorithm: dsgd'));
    expect(dsgd).toHaveLength(2);
    expect(xOf(dsgd[0])).not.toBe(xOf(dsgd[1]));

    expect(legendLabels(root)).toEqual(['mnist', 'synthetic']);
    expect(byClass(root, 'role-axis-label').flatMap(texts)).toEqual(expect.arrayContaining(['dsgd', 'co2', 'allreduce']));
    expect(titleTexts(root)).toEqual(['Final accuracy']);
    expect(axisTitles(root)).toEqual(['algorithm', 'accuracy']);
  });

  it('rejects values that do not match the categories', async () => {
    await expect(
      barChart({ title: 't', x: { label: 'x' }, y: { label: 'y' }, categories: ['a', 'b'], series: [{ name: 's', values: [1] }] }),
    ).rejects.toThrow(/1 values for 2 categories/);
  });
});

describe('facetLines', () => {
  it('puts several metrics in one SVG, one panel each, with one shared legend and one color per series', async () => {
    const svg = await facetLines({
      title: 'run demo',
      x: { label: 'round' },
      columns: 2,
      panels: [
        { title: 'loss', y: { label: 'loss', scale: 'log' }, series: workers },
        { title: 'accuracy', y: { label: 'accuracy' }, series: [{ name: 'w2', points: [[0, 0.1], [3, 0.8]] }, { name: 'w1', points: [[0, 0.1], [3, 0.85]] }] },
        { title: 'bytes sent', x: { label: 'seconds' }, y: { label: 'bytes' }, series: [{ name: 'w1', points: [[0, 0], [1, 4096]] }] },
      ],
    });
    const root = parseSvg(svg);
    const paths = linePaths(root);
    expect(paths.map((p) => p.series)).toEqual(['w1', 'w2', 'merged', 'w2', 'w1', 'w1']);
    const colors = new Map<string, Set<string>>();
    for (const p of paths) colors.set(p.series, (colors.get(p.series) ?? new Set()).add(p.stroke));
    for (const [, c] of colors) expect(c.size).toBe(1);
    expect(new Set([...colors.values()].map((c) => [...c][0])).size).toBe(3);

    expect(legendLabels(root)).toEqual(['w1', 'w2', 'merged']);
    expect(byClass(root, 'mark-group', 'role-legend')).toHaveLength(1);
    expect(titleTexts(root)).toEqual(expect.arrayContaining(['run demo', 'loss', 'accuracy', 'bytes sent']));
    expect(axisTitles(root)).toEqual(['round', 'loss', 'round', 'accuracy', 'seconds', 'bytes']);
  });

  it('plots a run from its metric records: loss, accuracy, consensus distance and bytes, per worker and merged', async () => {
    const records: MetricRecord[] = [];
    for (let round = 0; round < 5; round++) {
      for (const worker of ['w1', 'w2', 'w3']) {
        const k = Number(worker.slice(1));
        records.push({
          round,
          worker,
          loss: 2 / (round + 1) + k * 0.01,
          accuracy: 0.5 + 0.08 * round,
          consensus: round === 0 ? 0 : 1 / 2 ** round,
          bytes: 1024 * round * k,
        });
      }
      records.push({ round, worker: 'merged', loss: 1.9 / (round + 1), accuracy: 0.52 + 0.08 * round });
    }
    records.push({ round: 5, worker: 'w1', loss: Number.NaN, note: 'diverged?' });
    const panels = panelsFromRecords(records, {
      x: 'round',
      seriesBy: 'worker',
      dashed: ['merged'],
      metrics: [
        { metric: 'loss', scale: 'log' },
        { metric: 'accuracy' },
        { metric: 'consensus', title: 'consensus distance', scale: 'log' },
        { metric: 'bytes', label: 'bytes sent' },
        { metric: 'not-recorded' },
      ],
    });
    expect(panels.map((p) => p.title)).toEqual(['loss', 'accuracy', 'consensus distance', 'bytes']);
    expect(panels[0].series.map((s) => s.name)).toEqual(['w1', 'w2', 'w3', 'merged']);
    expect(panels[0].series[3].dashed).toBe(true);
    expect(panels[0].series[0].points).toHaveLength(5);
    expect(panels[2].series.map((s) => s.name)).toEqual(['w1', 'w2', 'w3']);

    const root = parseSvg(await facetLines({ title: 'run r1', x: { label: 'round' }, panels }));
    const paths = linePaths(root);
    expect(paths).toHaveLength(4 + 4 + 3 + 3);
    expect(paths.filter((p) => p.series === 'merged').map((p) => p.dash)).toEqual(['6,4', '6,4']);
    expect(legendLabels(root)).toEqual(['w1', 'w2', 'w3', 'merged']);
    expect(axisTitles(root)).toEqual(['round', 'loss', 'round', 'accuracy', 'round', 'consensus', 'round', 'bytes sent']);
  });

  it('rejects no panels and bad columns', async () => {
    await expect(facetLines({ title: 't', x: { label: 'x' }, panels: [] })).rejects.toThrow(/no panels/);
    await expect(
      facetLines({ title: 't', x: { label: 'x' }, columns: 0, panels: [{ title: 'p', y: { label: 'y' }, series: workers }] }),
    ).rejects.toThrow(/columns/);
  });
});

describe('quiet', () => {
  const output: string[] = [];
  beforeEach(() => {
    output.length = 0;
    const record = (...args: unknown[]): void => {
      output.push(args.map(String).join(' '));
    };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, method).mockImplementation(record);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('prints nothing while rendering, and hands warnings to onWarning', async () => {
    const warnings: string[] = [];
    // A theta channel on a line mark: Vega-Lite warns that it drops it.
    const svg = await renderVegaLite(
      {
        data: { values: [{ a: 1, b: 2, c: 'x' }, { a: 2, b: 3, c: 'x' }] },
        mark: 'line',
        encoding: {
          x: { field: 'a', type: 'quantitative' },
          y: { field: 'b', type: 'quantitative' },
          theta: { field: 'c', type: 'nominal' },
        },
      },
      { onWarning: (w) => warnings.push(w) },
    );
    await lineChart({ title: 't', x: { label: 'x' }, y: { label: 'y', scale: 'log' }, series: workers });
    vi.restoreAllMocks();
    expect(parseSvg(svg).name).toBe('svg');
    expect(warnings.join('\n')).toMatch(/theta dropped/i);
    expect(output).toEqual([]);
  });
});
