// `gossamer train` on a tiny run, then `gossamer report` on its directory: what a user does first.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byClass, legendLabels, linePaths, parseSvg, texts, type SvgElement } from '../../packages/plot/test/svg-dom.js';
import { runCli, shown, type CliResult } from './cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'gossamer-cli-train-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Tiny and easy: 4 well-separated blobs, a 16-unit MLP, 2 epochs of 12 steps; loss read every 4 steps.
const EPOCHS = 2;
const STEPS = 24;
const LOG_EVERY = 4;
const trainArgs = (out: string) => [
  'train', '--dataset', 'blobs:2000,4,16', '--model', 'mlp:16', '--epochs', String(EPOCHS), '--lr', '0.01',
  '--log-every', String(LOG_EVERY), '--out', out,
];

const axisTitles = (svg: SvgElement): string[] => byClass(svg, 'role-axis-title').flatMap(texts);

interface Event {
  type: string;
  [field: string]: unknown;
}

const runDir = join(scratch, 'run');
const jsonRunDir = join(scratch, 'json-run');
let plain: CliResult;
let json: CliResult;

beforeAll(async () => {
  // Both runs at once: each spends most of its time compiling shaders on SwiftShader.
  [plain, json] = await Promise.all([runCli(trainArgs(runDir)), runCli([...trainArgs(jsonRunDir), '--json'])]);
});

function eventsOf(dir: string): Event[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Event);
}

describe('gossamer train (tiny blobs run)', () => {
  it('finishes, says where its run directory is, and writes config, metrics, checkpoint and summary', () => {
    expect(plain.code, shown(plain)).toBe(0);
    expect(plain.stdout).toMatch(/^done: test accuracy \d+\.\d\d%, test loss \d\.\d{4} after 24 steps$/m);
    expect(plain.stdout).toContain(`run directory: ${runDir}`);
    expect(plain.stderr).toMatch(/^epoch 2: test loss/m);
    for (const file of ['config.json', 'metrics.jsonl', 'model.ckpt', 'summary.json']) expect(existsSync(join(runDir, file)), file).toBe(true);

    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ dataset: { kind: 'blobs', samples: 2000, classes: 4, features: 16 }, model: 'mlp:16', epochs: EPOCHS, logEvery: LOG_EVERY });
  });

  it('writes metrics.jsonl events that parse, in order, with a sensible final accuracy', () => {
    const events = eventsOf(runDir);
    expect(events[0].type).toBe('start');
    expect(events.at(-1)?.type).toBe('done');
    expect(events.map((e) => e.type).filter((t) => t === 'progress')).toHaveLength(STEPS / LOG_EVERY);
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of events) expect(typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)), JSON.stringify(e)).toBe(true);
    const done = events.at(-1) as Event & { testAccuracy: number; testLoss: number; steps: number };
    expect(done.steps).toBe(STEPS);
    expect(done.testAccuracy).toBeGreaterThan(0.8);
    expect(done.testAccuracy).toBeLessThanOrEqual(1);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ testAccuracy: done.testAccuracy, testLoss: done.testLoss, steps: STEPS });
  });

  it('--json prints the events as parseable JSON lines on stdout, the same as metrics.jsonl', () => {
    expect(json.code, shown(json)).toBe(0);
    const lines = json.stdout.trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Event);
    expect(events[0].type).toBe('start');
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: STEPS });
    expect(events.filter((e) => e.type === 'eval')).toHaveLength(EPOCHS);
    expect(lines).toEqual(readFileSync(join(jsonRunDir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n'));
  });
});

describe('gossamer report on that run', () => {
  let report: CliResult;
  beforeAll(async () => {
    report = await runCli(['report', runDir]);
  });

  it('writes the training loss, test accuracy and test loss plots and lists them', () => {
    expect(report.code, shown(report)).toBe(0);
    expect(report.stdout).toContain(`report of ${eventsOf(runDir).length} events: ${join(runDir, 'report.md')}`);
    expect(report.stdout).toMatch(/plots\/train-loss\.svg +Training loss vs step/);
    expect(report.stderr).toBe('');
  });

  it.each([
    ['train-loss.svg', 'Training loss vs step', ['step', 'training loss'], STEPS / LOG_EVERY],
    ['test-accuracy.svg', 'Test accuracy vs epoch', ['epoch', 'test accuracy'], EPOCHS],
    ['test-loss.svg', 'Test loss vs epoch', ['epoch', 'test loss'], EPOCHS],
  ])('%s is well-formed SVG with its title, axes and the w0 series', (file, title, axes, points) => {
    const svg = parseSvg(readFileSync(join(runDir, 'plots', file), 'utf8'));
    expect(svg.name).toBe('svg');
    expect(svg.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(byClass(svg, 'role-title-text').flatMap(texts)).toEqual([title]);
    expect(axisTitles(svg)).toEqual(axes);
    expect(legendLabels(svg)).toEqual(['w0']);
    const [line, ...others] = linePaths(svg);
    expect(others).toEqual([]);
    expect(line.series).toBe('w0');
    // A line through n points has n - 1 segments.
    expect((line.d.match(/L/g) ?? []).length).toBe(points - 1);
  });

  it('writes report.md with the config, the final metrics and links to every plot', () => {
    const md = readFileSync(join(runDir, 'report.md'), 'utf8');
    const done = eventsOf(runDir).at(-1) as Event & { testAccuracy: number; testLoss: number };
    expect(md).toContain('# Run report: run\n');
    expect(md).toContain('| model | mlp:16 |');
    expect(md).toContain('| dataset | kind=blobs, samples=2000, classes=4, features=16 |');
    expect(md).toContain('| worker | steps | epochs | test loss | test accuracy | elapsed | samples per second |');
    expect(md).toContain(`| w0 | ${STEPS} | ${EPOCHS} | ${Number(done.testLoss.toPrecision(4))} | ${(100 * done.testAccuracy).toFixed(2)}% |`);
    for (const file of ['train-loss.svg', 'test-accuracy.svg', 'test-loss.svg']) expect(md).toMatch(new RegExp(`!\\[[^\\]]+\\]\\(plots/${file}\\)`));
  });

  it('tolerates a truncated last line, warning in JSON log lines on stderr', async () => {
    const copy = join(scratch, 'interrupted');
    cpSync(runDir, copy, { recursive: true });
    appendFileSync(join(copy, 'metrics.jsonl'), '{"type":"progress","worker":"w0","st');
    const result = await runCli(['report', copy, '--log-format', 'json']);
    expect(result.code, shown(result)).toBe(0);
    const logs = result.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs).toEqual([
      {
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        level: 'warn',
        msg: expect.stringMatching(/metrics\.jsonl:\d+: skipped the truncated last line/),
        fields: { runDir: copy },
      },
    ]);
    expect(existsSync(join(copy, 'plots', 'train-loss.svg'))).toBe(true);
  });
});
