import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatMetric,
  humanize,
  parseMetricsLines,
  planPlots,
  readRunDir,
  reportMarkdown,
  RunDirError,
  scaleFor,
  writeReport,
  type MetricEvent,
} from '../src/report/index.js';
import { legendLabels, linePaths, parseSvg } from '../../plot/test/svg-dom.js';
import { multiWorkerEvents, ROUNDS, toJsonLines, WORKERS } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'gossamer-report-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runDir(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const singleWorker: MetricEvent[] = [
  { type: 'start', worker: 'w0', model: 'mlp-16', parameters: 340, trainSamples: 1600, testSamples: 400, stepsPerEpoch: 12, totalSteps: 24, adapter: 'x' },
  { type: 'progress', worker: 'w0', step: 6, epoch: 0.5, loss: 1.3, samplesPerSecond: 300, elapsedMs: 3000 },
  { type: 'progress', worker: 'w0', step: 12, epoch: 1, loss: 0.9, samplesPerSecond: 300, elapsedMs: 4000 },
  { type: 'eval', worker: 'w0', step: 12, epoch: 1, testLoss: 0.6, testAccuracy: 0.82, elapsedMs: 4100 },
  { type: 'progress', worker: 'w0', step: 18, epoch: 1.5, loss: 0.5, samplesPerSecond: 300, elapsedMs: 4500 },
  { type: 'progress', worker: 'w0', step: 24, epoch: 2, loss: 0.4, samplesPerSecond: 300, elapsedMs: 5000 },
  { type: 'eval', worker: 'w0', step: 24, epoch: 2, testLoss: 0.26, testAccuracy: 0.915, elapsedMs: 5100 },
  { type: 'done', worker: 'w0', steps: 24, epochs: 2, testLoss: 0.26, testAccuracy: 0.915, elapsedMs: 5200, samplesPerSecond: 550 },
];

describe('parseMetricsLines', () => {
  it('reads one event per line, ignoring blank lines and passing unknown event types through', () => {
    const text = '{"type":"start","worker":"w0"}\n\n{"type":"someday","worker":"w0","round":1,"x":2}\n{"type":"done","worker":"w0"}\n';
    const { events, warnings } = parseMetricsLines(text);
    expect(events.map((e) => e.type)).toEqual(['start', 'someday', 'done']);
    expect(events[1]).toEqual({ type: 'someday', worker: 'w0', round: 1, x: 2 });
    expect(warnings).toEqual([]);
  });

  it('skips a truncated last line with a warning naming its line', () => {
    const { events, warnings } = parseMetricsLines('{"type":"start"}\n{"type":"progress","step":1}\n{"type":"progr', 'm.jsonl');
    expect(events.map((e) => e.type)).toEqual(['start', 'progress']);
    expect(warnings).toEqual([expect.stringMatching(/^m\.jsonl:3: skipped the truncated last line/)]);
  });

  it('treats a broken last line followed only by blank lines as truncated too', () => {
    const { events, warnings } = parseMetricsLines('{"type":"start"}\n{"type":\n\n');
    expect(events).toHaveLength(1);
    expect(warnings[0]).toMatch(/:2: skipped the truncated last line/);
  });

  it('rejects a broken line in the middle, naming file and line', () => {
    expect(() => parseMetricsLines('{"type":"start"}\nnot json\n{"type":"done"}\n', 'run/metrics.jsonl')).toThrow(
      /^run\/metrics\.jsonl:2: not a JSON line/,
    );
    expect(() => parseMetricsLines('x\n{"type":"done"}')).toThrow(RunDirError);
  });

  it('skips JSON lines that are not event objects, counting them in one warning', () => {
    const { events, warnings } = parseMetricsLines('[1,2]\n{"no":"type"}\n{"type":7}\n"text"\n{"type":"done"}\n');
    expect(events.map((e) => e.type)).toEqual(['done']);
    expect(warnings).toEqual(['metrics.jsonl: skipped 4 line(s) that are not event objects with a "type"']);
  });
});

describe('readRunDir', () => {
  it('says how to fix a missing directory, an empty one, a non-run directory and one with no events', () => {
    expect(() => readRunDir(join(scratch, 'nope'))).toThrow(/does not exist.*gossamer train --out <dir>/);
    expect(() => readRunDir(runDir('empty', {}))).toThrow(/is empty: train into it first, e\.g\. `gossamer train --out .*empty`/);
    expect(() => readRunDir(runDir('other', { 'notes.txt': 'hi' }))).toThrow(/has no metrics\.jsonl, so it is not a run directory/);
    const noEvents = runDir('no-events', { 'metrics.jsonl': '\n', 'config.json': '{}' });
    expect(() => readRunDir(noEvents)).toThrow(new RegExp(`holds no events.*gossamer train --config ${noEvents}/config\\.json --out ${noEvents}`));
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    expect(() => readRunDir(file)).toThrow(/is a file, not a run directory/);
  });

  it('reads config and events; a missing or broken config is a warning, not an error', () => {
    const good = readRunDir(runDir('good', { 'metrics.jsonl': toJsonLines(singleWorker), 'config.json': '{"algo":"local","epochs":2}' }));
    expect(good.config).toEqual({ algo: 'local', epochs: 2 });
    expect(good.events).toHaveLength(singleWorker.length);
    expect(good.warnings).toEqual([]);

    const missing = readRunDir(runDir('no-config', { 'metrics.jsonl': toJsonLines(singleWorker) }));
    expect(missing.config).toBeUndefined();
    expect(missing.warnings).toEqual([expect.stringMatching(/config\.json is missing/)]);

    const broken = readRunDir(runDir('bad-config', { 'metrics.jsonl': toJsonLines(singleWorker), 'config.json': '{"algo":' }));
    expect(broken.config).toBeUndefined();
    expect(broken.warnings).toEqual([expect.stringMatching(/config\.json is not valid JSON/)]);
  });
});

describe('planPlots', () => {
  it('plans training loss vs step and test accuracy/loss vs epoch for a single-worker run', () => {
    const { plots, notes } = planPlots(singleWorker);
    expect(plots.map((p) => [p.file, p.title, p.x.label])).toEqual([
      ['train-loss.svg', 'Training loss vs step', 'step'],
      ['test-accuracy.svg', 'Test accuracy vs epoch', 'epoch'],
      ['test-loss.svg', 'Test loss vs epoch', 'epoch'],
    ]);
    expect(plots[0].panels[0].series).toEqual([{ name: 'w0', points: [[6, 1.3], [12, 0.9], [18, 0.5], [24, 0.4]] }]);
    expect(plots[1].panels[0].series).toEqual([{ name: 'w0', points: [[1, 0.82], [2, 0.915]] }]);
    expect(plots[2].panels[0].series[0].points).toEqual([[1, 0.6], [2, 0.26]]);
    expect(notes).toEqual([]);
  });

  it('draws one line per worker when events carry different worker ids', () => {
    const twoWorkers = singleWorker.flatMap((e) => [e, { ...e, worker: 'w1', ...('loss' in e ? { loss: Number(e.loss) * 2 } : {}) }]);
    const [trainLoss] = planPlots(twoWorkers).plots;
    expect(trainLoss.panels[0].series.map((s) => s.name)).toEqual(['w0', 'w1']);
    expect(trainLoss.panels[0].series[1].points[0]).toEqual([6, 2.6]);
  });

  it('plots every numeric field of unknown per-worker events vs round, and overlays run-level merged events dashed', () => {
    const { plots, notes } = planPlots(multiWorkerEvents() as MetricEvent[]);
    expect(notes).toEqual([]);
    expect(plots.map((p) => p.file)).toEqual(['round.svg']);
    const [round] = plots;
    expect(round.x.label).toBe('round');
    expect(round.panels.map((p) => p.title)).toEqual(['loss', 'accuracy', 'consensus distance', 'bytes sent', 'bytes received', 'compute (ms)', 'comm (ms)']);
    const accuracy = round.panels[1];
    expect(accuracy.series.map((s) => [s.name, s.dashed === true])).toEqual([...WORKERS.map((w) => [w, false]), ['merged', true]]);
    expect(accuracy.series[3].points).toHaveLength(ROUNDS);
    expect(accuracy.series[3].points[0]).toEqual([1, 0.52 + 0.07]);
    // Consensus distance spans five decades: log axis. Loss does not.
    expect(round.panels[2].y).toEqual({ label: 'consensus distance', scale: 'log' });
    expect(round.panels[0].y.scale).toBe('linear');
    for (const panel of round.panels.filter((p) => p.title !== 'accuracy')) expect(panel.series.map((s) => s.name)).toEqual([...WORKERS]);
  });

  it('treats merged events as run-level even when every worker reports them: one dashed series, the mean at each round', () => {
    const events: MetricEvent[] = [
      ...WORKERS.flatMap((worker, i) => [1, 2].map((round) => ({ type: 'round', worker, round, accuracy: 0.5 + 0.1 * round + 0.01 * i }))),
      // After a gossip merge the workers' models differ slightly: the series is their mean.
      ...WORKERS.map((worker, i) => ({ type: 'merged', worker, round: 2, method: 'gossip:4', accuracy: 0.8 + 0.01 * i, consensusDistance: 1e-9 })),
    ];
    const { plots } = planPlots(events);
    expect(plots.map((p) => p.file)).toEqual(['round.svg', 'merged.svg']);
    const accuracy = plots[0].panels[0];
    expect(accuracy.series.map((s) => s.name)).toEqual([...WORKERS, 'merged']);
    const merged = accuracy.series[3];
    expect(merged.dashed).toBe(true);
    expect(merged.points).toHaveLength(1);
    expect(merged.points[0][0]).toBe(2);
    expect(merged.points[0][1]).toBeCloseTo(0.81, 12);
    // No per-worker consensus distance to join: a plot of its own.
    expect(plots[1].panels.map((p) => p.title)).toEqual(['consensus distance']);
  });

  it('gives run-level metrics with no per-worker counterpart a plot of their own, and notes what it cannot plot', () => {
    const events: MetricEvent[] = [
      { type: 'merged', round: 1, accuracy: 0.5, spectralGap: 0.2 },
      { type: 'merged', round: 2, accuracy: 0.6, spectralGap: 0.2 },
      { type: 'round', worker: 'w0', round: 1, accuracy: 0.4 },
      { type: 'membership', worker: 'w3', joined: 1 },
      { type: 'label', worker: 'w0', round: 1, name: 'no numbers here' },
    ];
    const { plots, notes } = planPlots(events);
    expect(plots.map((p) => p.file)).toEqual(['round.svg', 'merged.svg']);
    expect(plots[0].panels[0].series.map((s) => s.name)).toEqual(['w0', 'merged']);
    expect(plots[1].panels.map((p) => p.title)).toEqual(['spectral gap']);
    // Alone on its plot, nothing to tell it apart from: drawn solid.
    expect(plots[1].panels[0].series).toEqual([{ name: 'merged', points: [[1, 0.2], [2, 0.2]] }]);
    expect(notes).toEqual(['"membership" events have no round/step/epoch field: not plotted', '"label" events have no numeric fields: not plotted']);
  });

  it('keeps file names unique and safe', () => {
    const events: MetricEvent[] = [
      { type: 'train loss', worker: 'w0', round: 1, v: 1 },
      { type: 'Train/Loss', worker: 'w0', round: 1, v: 1 },
    ];
    expect(planPlots(events).plots.map((p) => p.file)).toEqual(['train-loss.svg', 'train-loss-2.svg']);
  });
});

describe('helpers', () => {
  it('humanize, scaleFor and formatMetric', () => {
    expect(['consensusDistance', 'bytesSent', 'computeMs', 'testAccuracy', 'loss', 'grad_norm'].map(humanize)).toEqual([
      'consensus distance',
      'bytes sent',
      'compute (ms)',
      'test accuracy',
      'loss',
      'grad norm',
    ]);
    expect(scaleFor([0, 1, 10, 1000])).toBe('log');
    expect(scaleFor([0.2, 2, 19])).toBe('linear');
    expect(scaleFor([-1, 1, 10_000])).toBe('linear');
    expect(scaleFor([])).toBe('linear');
    expect(formatMetric('testAccuracy', 0.915)).toBe('91.50%');
    expect(formatMetric('testLoss', 0.258525257)).toBe('0.2585');
    expect(formatMetric('steps', 24)).toBe('24');
    expect(formatMetric('elapsedMs', 65_000)).toBe('1m05s');
    expect(formatMetric('computeMs', 23.456)).toBe('23.5 ms');
    expect(formatMetric('loss', undefined)).toBe('–');
  });
});

describe('reportMarkdown', () => {
  const at = new Date('2026-01-02T03:04:05Z');

  it('has the config table, final metrics from done events, plot links and event counts', () => {
    const md = reportMarkdown({
      runDir: '/runs/r1',
      config: { algo: 'local', dataset: { kind: 'blobs', samples: 2000 }, note: 'a|b' },
      events: singleWorker,
      plots: [{ title: 'Training loss vs step', path: 'plots/train-loss.svg' }],
      notes: ['something skipped'],
      generatedAt: at,
    });
    expect(md).toContain('# Run report: r1\n');
    expect(md).toContain('at 2026-01-02T03:04:05.000Z');
    expect(md).toContain('| algo | local |');
    expect(md).toContain('| dataset | kind=blobs, samples=2000 |');
    expect(md).toContain('| note | a\\|b |');
    // The done event's numbers, in its order, each formatted for its kind.
    expect(md).toContain('| worker | steps | epochs | test loss | test accuracy | elapsed | samples per second |');
    expect(md).toContain('| w0 | 24 | 2 | 0.26 | 91.50% | 5200 ms | 550 |');
    expect(md).toContain('![Training loss vs step](plots/train-loss.svg)');
    expect(md).toContain('8 events: 1 `start`, 4 `progress`, 2 `eval`, 1 `done`.');
    expect(md).toContain('- something skipped');
  });

  it('falls back to the last evaluation when the run did not finish, and lists last values of other event types', () => {
    const md = reportMarkdown({
      runDir: '/runs/r2',
      config: undefined,
      events: [...singleWorker.filter((e) => e.type !== 'done'), ...(multiWorkerEvents().filter((e) => e.type === 'round' || e.type === 'merged') as MetricEvent[])],
      plots: [],
      notes: [],
      generatedAt: at,
    });
    expect(md).toContain('No readable config.json');
    expect(md).toContain('The run did not finish: there is no `done` event.');
    expect(md).toContain('| w0 | 24 | 2 | 91.50% | 0.26 |');
    expect(md).toContain('Last `round` event of each worker:');
    expect(md).toContain('| worker | round | loss | accuracy | consensus distance | bytes sent | bytes received | compute | comm |');
    expect(md).toContain(`| w2 | ${ROUNDS} | 0.27 | 90.00% | 0.00001 | 24576 | 24576 | 14 ms | 5 ms |`);
    expect(md).toContain('Last `merged` event:');
    expect(md).toContain(`| merged | ${ROUNDS} | 94.00% |`);
  });
});

describe('writeReport', () => {
  it('writes well-formed SVG plots and report.md for a multi-worker run', async () => {
    const dir = runDir('multi', { 'metrics.jsonl': toJsonLines(multiWorkerEvents()), 'config.json': '{"algo":"dsgd","workers":3}' });
    const result = await writeReport(dir, { now: new Date(0) });
    expect(result.plots.map((p) => p.path)).toEqual(['plots/round.svg']);
    expect(result.plots[0].series).toEqual([...WORKERS, 'merged']);
    expect(result.warnings).toEqual([]);
    const svg = parseSvg(readFileSync(join(dir, 'plots/round.svg'), 'utf8'));
    expect(legendLabels(svg)).toEqual([...WORKERS, 'merged']);
    // 7 panels, 3 workers each, plus the merged line on the accuracy panel.
    const paths = linePaths(svg);
    expect(paths).toHaveLength(7 * WORKERS.length + 1);
    expect(paths.filter((p) => p.series === 'merged').map((p) => p.dash)).toEqual(['6,4']);
    const md = readFileSync(result.report, 'utf8');
    expect(md).toContain('| algo | dsgd |');
    expect(md).toContain('![\"round\" events: metrics vs round, per worker](plots/round.svg)');
  });

  it('writes a PNG beside each SVG: twice its size, on white, with the lines drawn', async () => {
    const dir = runDir('png', { 'metrics.jsonl': toJsonLines(multiWorkerEvents()), 'config.json': '{"algo":"dsgd","workers":3}' });
    await writeReport(dir, { now: new Date(0) });
    const svgText = readFileSync(join(dir, 'plots/round.svg'), 'utf8');
    const png = readFileSync(join(dir, 'plots/round.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height (big-endian) at bytes 16..23; 8-bit RGBA.
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    const svgWidth = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svgText)?.[1]);
    const svgHeight = Number(/<svg[^>]*\sheight="([\d.]+)"/.exec(svgText)?.[1]);
    expect(width).toBe(Math.round(2 * svgWidth));
    expect(height).toBe(Math.round(2 * svgHeight));
    // Inflate the image data: mostly white background, and a good share of coloured (line) pixels.
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length; ) {
      const length = png.readUInt32BE(at);
      const type = png.toString('latin1', at + 4, at + 8);
      if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
      at += 12 + length;
    }
    const raw = inflateSync(Buffer.concat(idat));
    const channels = png[25] === 6 ? 4 : 3;
    const stride = 1 + width * channels;
    expect(raw.length).toBe(height * stride);
    // Undo the per-row filters (PNG spec: None, Sub, Up, Average, Paeth), then count pixels.
    const pixels = new Uint8Array(height * width * channels);
    const rowBytes = width * channels;
    for (let y = 0; y < height; y++) {
      const filter = raw[y * stride];
      for (let x = 0; x < rowBytes; x++) {
        const a = x >= channels ? pixels[y * rowBytes + x - channels] : 0;
        const b = y > 0 ? pixels[(y - 1) * rowBytes + x] : 0;
        const c = x >= channels && y > 0 ? pixels[(y - 1) * rowBytes + x - channels] : 0;
        const p = a + b - c;
        const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
        const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
        pixels[y * rowBytes + x] = (raw[y * stride + 1 + x] + predictor) & 0xff;
      }
    }
    let white = 0;
    let coloured = 0;
    for (let i = 0; i < pixels.length; i += channels) {
      const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
      if (r === 255 && g === 255 && b === 255) white++;
      else if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++; // series colours, not grey axes or text
    }
    expect(white / (width * height)).toBeGreaterThan(0.5);
    expect(coloured).toBeGreaterThan(100);
  });
});
