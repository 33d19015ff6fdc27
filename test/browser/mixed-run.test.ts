// Browser workers in the same run as Node workers (issue 16): one D-SGD run over a real embedded
// nats-server, two workers as `gossamer worker` processes (TCP) and two as worker pages in headless
// Chromium (the websocket listener, navigator.gpu), each with its own nkey. The pages run the same
// worker loop as the processes (hostLoadedWorkers), on the run's data served by the page server.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { startNatsServer, type NatsServer } from '@gossamer/transport';
import { loadTrainTest, resolveRunConfig, simulateRun, type RunConfig } from '@gossamer/worker';
import { PAGE_FILES, startPageServer, type PageServer } from '@gossamer/worker-page';
import { authConfig } from '../../infra/nats/secure/gen-nkeys.mjs';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO_ROOT, 'packages/cli/dist/bin.js');
const CHROMIUM = process.env.GOSSAMER_CHROMIUM ?? '/usr/bin/chromium';
const IDS = ['w0', 'w1', 'w2', 'w3'];
/** Alternating on the ring, so every link of a browser worker goes to a Node worker. */
const IN_BROWSER = ['w1', 'w3'];
const IN_NODE = IDS.filter((w) => !IN_BROWSER.includes(w));
const PEER_TIMEOUT_MS = 6000;
/**
 * The tab-closing test's heartbeat timeout: without the Leave the page sends as it closes, the
 * survivors change their view about this long after its last heartbeat; with it, at their next
 * round boundary (seconds, even on a loaded 2-core machine). Half of it tells the two apart.
 */
const LEAVE_PEER_TIMEOUT_MS = 60_000;

type Line = Record<string, unknown> & { type: string; worker?: string };

/** The D-SGD ring of test/dsgd/multiprocess.test.ts, small enough for SwiftShader on 2 cores. */
const base: Partial<RunConfig> = {
  algo: 'dsgd',
  topology: 'ring',
  schedule: 'gossip',
  dataset: { kind: 'blobs', samples: 320, classes: 3, features: 8 },
  model: 'mlp:12',
  optimizer: { kind: 'adamw', lr: 0.01 },
  batchSize: 16,
  workers: 4,
  localSteps: 2,
  evalEvery: 0,
  seed: 11,
};

let nats: NatsServer;
let browser: Browser;
let keyDir: string;
const seeds = new Map<string, string>();
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install it with infra/setup.sh (apt-get install chromium), or set GOSSAMER_CHROMIUM`);
  if (!existsSync(BIN) || !existsSync(PAGE_FILES.script)) throw new Error('the CLI or the worker page is not built: run "npx turbo run build" first');
  keyDir = mkdtempSync(join(tmpdir(), 'gossamer-mixed-'));
  const users = IDS.map((name) => {
    const pair = createUser();
    const seed = new TextDecoder().decode(pair.getSeed());
    seeds.set(name, seed);
    writeFileSync(join(keyDir, `${name}.nk`), `${seed}\n`, { mode: 0o600 });
    return { name, publicKey: pair.getPublicKey(), role: 'worker' as const };
  });
  nats = await startNatsServer({ websocket: true, extraConfig: authConfig('*', users) });
  // Chromium's WebGPU on SwiftShader (the flags of selfcheck.test.ts), or the GPU with GOSSAMER_ADAPTER=hardware.
  const swiftshader = (process.env.GOSSAMER_ADAPTER ?? 'auto') !== 'hardware' ? ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'] : [];
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan', ...swiftshader],
  });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await browser?.close();
  await nats?.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

interface MixedRun {
  lines: Line[];
  /** Final parameters by worker: Node workers' checkpoint files, pages' posted checkpoints. */
  params: Map<string, Float32Array>;
  pages: Map<string, Page>;
  nodeExits: Promise<number[]>;
  /** Resolves when every page has finished (done, failed or closed) or was taken away by the test. */
  pagesDone: Promise<void>;
  pageServer: PageServer;
  /** What each open page showed at the end (its #state, #round, #loss, #adapter, #bytes). */
  shown: Map<string, Record<string, string>>;
  /** The test took `worker`'s page away: pagesDone no longer waits for it. */
  gone(worker: string): void;
}

/** Starts the run: Node workers as `gossamer worker` processes, browser workers as pages. */
interface MixedRunOptions {
  onLine?: (line: Line, run: MixedRun) => void;
  peerTimeoutMs?: number;
  /** Prepares a worker's page before it loads (e.g. scripts that run before the page's own). */
  beforeOpen?: (worker: string, page: Page) => Promise<void>;
}

async function startMixedRun(config: RunConfig, options: MixedRunOptions = {}): Promise<MixedRun> {
  const { onLine = () => {}, peerTimeoutMs = PEER_TIMEOUT_MS } = options;
  const runId = `m${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const dir = mkdtempSync(join(keyDir, 'run-'));
  const configFile = join(dir, 'run.json');
  writeFileSync(configFile, JSON.stringify(config));
  const lines: Line[] = [];
  const params = new Map<string, Float32Array>();
  const pending = new Map<string, () => void>();
  const pagesDone = Promise.all(IN_BROWSER.map((w) => new Promise<void>((ok) => pending.set(w, ok)))).then(() => undefined);
  const run = { lines, params, pages: new Map<string, Page>(), shown: new Map(), pagesDone, gone: (w: string) => pending.get(w)?.() } as MixedRun;
  const record = (line: Line): void => {
    lines.push(line);
    onLine(line, run);
  };
  run.pageServer = await startPageServer({
    runId,
    config,
    data: await loadTrainTest(config.dataset, config.seed),
    natsWsServers: [nats.wsUrl!],
    workers: IN_BROWSER.map((w) => ({ worker: w, index: IDS.indexOf(w), credentials: seeds.get(w) })),
    peerTimeoutMs,
    onEvent: (worker, e) => {
      record({ ...e, worker, type: String(e.type), from: 'page' });
      // The page posts `done` after its checkpoint is in (and `failed`/`closed` when it has none).
      if (e.type === 'page' && (e.state === 'done' || e.state === 'failed' || e.state === 'closed')) pending.get(worker)?.();
    },
    onResult: (worker, bytes) => {
      params.set(worker, decodeCheckpoint(bytes, `${worker}'s posted checkpoint`).sections.get('params') as Float32Array);
    },
  });
  run.nodeExits = Promise.all(
    IN_NODE.map((w) => {
      const args = [BIN, 'worker', '--nats', nats.url, '--run', runId, '--config', configFile, '--id', w, '--creds', join(keyDir, `${w}.nk`), '--out', dir, '--peer-timeout', String(peerTimeoutMs)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      createInterface({ input: child.stdout! }).on('line', (text) => {
        if (text.startsWith('{')) record({ ...(JSON.parse(text) as Line), from: 'node' });
      });
      return new Promise<number>((ok) =>
        child.on('exit', (code) => {
          if (code !== 0) console.error(`${w} exited ${code}:\n${stderr.slice(-3000)}`);
          else params.set(w, decodeCheckpoint(readFileSync(join(dir, `${w}.ckpt`))).sections.get('params') as Float32Array);
          ok(code ?? -1);
        }),
      );
    }),
  );
  for (const w of IN_BROWSER) {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`${w} page error:`, e));
    await options.beforeOpen?.(w, page);
    await page.goto(run.pageServer.pageUrl(w));
    run.pages.set(w, page);
  }
  return run;
}

async function finish(run: MixedRun, limitMs: number): Promise<number[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the run did not finish in ${limitMs} ms; last events: ${JSON.stringify(run.lines.slice(-6))}`)), limitMs);
  });
  try {
    const [codes] = await Promise.race([Promise.all([run.nodeExits, run.pagesDone]), timeout]);
    return codes;
  } finally {
    clearTimeout(timer);
    for (const [w, p] of run.pages) {
      if (p.isClosed()) continue;
      const fields = ['state', 'round', 'loss', 'adapter', 'bytes'];
      run.shown.set(w, await p.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, document.getElementById(id)?.textContent ?? ''])), fields));
      await p.close();
    }
    await run.pageServer.close();
  }
}

/**
 * After `lost` left at `leftAt`: one new view, agreed by every survivor (pages and processes), every
 * round trained, and the exact final merge over the survivors to the same bits on every one.
 */
function expectSurvivorsAgree(run: MixedRun, config: RunConfig, lost: string, leftAt: number): void {
  const survivors = IDS.filter((w) => w !== lost);
  const views = run.lines.filter((l) => l.type === 'view');
  expect(views.map((v) => v.worker).sort()).toEqual(survivors);
  for (const v of views) {
    expect(v).toMatchObject({ epoch: 1, members: survivors, removed: [lost], startRound: views[0].startRound });
    // The Leave the page sent, not the heartbeat timeout, ended its membership.
    expect(Date.parse(v.time as string) - leftAt, `${v.worker}'s view`).toBeLessThan(LEAVE_PEER_TIMEOUT_MS / 2);
  }
  for (const w of survivors) expect(run.lines.filter((l) => l.type === 'round' && l.worker === w).length).toBe(config.rounds);
  const merged = run.lines.filter((l) => l.type === 'merged');
  expect(merged.map((m) => m.worker).sort()).toEqual(survivors);
  const params = survivors.map((w) => run.params.get(w)!);
  for (const [i, p] of params.entries()) expect(firstDifference(p, params[0]), survivors[i]).toBe(-1);
  expect(run.params.has(lost)).toBe(false);
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
function firstDifference(a: Float32Array, b: Float32Array): number {
  const [x, y] = [bitsOf(a), bitsOf(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

describe('browser workers (headless Chromium) and Node workers in one run', () => {
  it('bundles the worker page without Node: no node: modules, no Dawn', () => {
    const bundle = readFileSync(PAGE_FILES.script, 'utf8');
    expect(bundle).not.toMatch(/(?:from\s*|require\(|import\()["'](?:node:|webgpu["'])/);
    expect(bundle).toContain('navigator');
  });

  it('D-SGD on a ring of 2 Node and 2 browser workers ends with the simulation\'s parameters, bit for bit', { timeout: 300_000 }, async () => {
    const config = resolveRunConfig({ ...base, rounds: 4 });
    const run = await startMixedRun(config);
    const codes = await finish(run, 240_000);
    expect(codes).toEqual([0, 0]);
    // Each page joined, trained every round on its WebGPU adapter and finished.
    for (const w of IN_BROWSER) {
      const mine = run.lines.filter((l) => l.worker === w && l.from === 'page');
      expect(mine.filter((l) => l.type === 'page').map((l) => l.state)).toEqual(['loading', 'joining', 'training', 'done']);
      const adapter = mine.find((l) => l.type === 'start')?.adapter as string;
      // Chromium's own WebGPU adapter (SwiftShader here), as the Node workers' is Dawn's.
      if ((process.env.GOSSAMER_ADAPTER ?? 'auto') !== 'hardware') expect(adapter).toMatch(/swiftshader/i);
      expect(mine.filter((l) => l.type === 'round').length).toBe(4);
      expect(mine.filter((l) => l.type === 'round').every((l) => (l.bytesSent as number) > 0)).toBe(true);
      // The page shows its state, last round, loss, adapter and bytes sent.
      const shown = run.shown.get(w)!;
      const last = mine.filter((l) => l.type === 'round').at(-1)!;
      expect(shown).toMatchObject({ state: 'done', round: String(last.round), loss: (last.loss as number).toPrecision(5) });
      expect(shown.adapter).toBe(mine.find((l) => l.type === 'start')?.adapter);
      expect(Number(shown.bytes)).toBeGreaterThan(0);
    }
    // Every worker, page or process, ends where the in-process simulation of the config does.
    // Chromium's Dawn and Node's Dawn both run the kernels on SwiftShader: the same bits.
    const simulated = await simulateRun(config);
    for (const sim of simulated) {
      const got = run.params.get(sim.worker)!;
      expect(got, `${sim.worker}'s parameters`).toBeDefined();
      expect(got.length).toBe(sim.params.length);
      const at = firstDifference(got, sim.params);
      expect(at, at >= 0 ? `${sim.worker} parameter ${at}: ${got[at]} vs simulated ${sim.params[at]}` : '').toBe(-1);
    }
    // They trained and communicated: the workers' parameters differ (gossip, no final merge).
    expect(firstDifference(run.params.get('w0')!, run.params.get('w1')!)).toBeGreaterThanOrEqual(0);
  });

  it('a browser tab closed mid-run is a leave: the others agree on a new view, finish, and merge to the same bits', { timeout: 300_000 }, async () => {
    const config = resolveRunConfig({ ...base, rounds: 14, merge: 'exact' });
    const lost = 'w1';
    let closedAt = 0;
    const run = await startMixedRun(config, {
      peerTimeoutMs: LEAVE_PEER_TIMEOUT_MS,
      onLine: (line, r) => {
        if (closedAt === 0 && line.type === 'round' && line.worker === lost && line.round === 3) {
          closedAt = Date.now();
          // Closing the tab runs pagehide/beforeunload: the page leaves the run.
          void r.pages.get(lost)!.close({ runBeforeUnload: true });
          r.gone(lost);
        }
      },
    });
    const codes = await finish(run, 240_000);
    expect(codes).toEqual([0, 0]);
    expect(closedAt).toBeGreaterThan(0);
    expectSurvivorsAgree(run, config, lost, closedAt);
  });

  it('a browser worker whose device is lost leaves: the others agree on a new view and finish', { timeout: 300_000 }, async () => {
    const config = resolveRunConfig({ ...base, rounds: 14, merge: 'exact' });
    const lost = 'w3';
    let lostAt = 0;
    const run = await startMixedRun(config, {
      peerTimeoutMs: LEAVE_PEER_TIMEOUT_MS,
      // Keeps the page's device where the test can reach it (the page itself exposes nothing).
      beforeOpen: async (w, page) => {
        if (w !== lost) return;
        await page.evaluateOnNewDocument(() => {
          const request = GPUAdapter.prototype.requestDevice;
          GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args: Parameters<GPUAdapter['requestDevice']>) {
            const device = await request.apply(this, args);
            (globalThis as { lostDevice?: GPUDevice }).lostDevice = device;
            return device;
          };
        });
      },
      onLine: (line, r) => {
        if (lostAt === 0 && line.type === 'round' && line.worker === lost && line.round === 3) {
          lostAt = Date.now();
          void r.pages.get(lost)!.evaluate(() => (globalThis as { lostDevice?: GPUDevice }).lostDevice!.destroy());
        }
      },
    });
    const codes = await finish(run, 240_000);
    expect(codes).toEqual([0, 0]);
    expect(lostAt).toBeGreaterThan(0);
    const states = run.lines.filter((l) => l.type === 'page' && l.worker === lost);
    expect(states.at(-1)).toMatchObject({ state: 'failed', detail: expect.stringMatching(/^device lost/) });
    expectSurvivorsAgree(run, config, lost, lostAt);
  });
});
