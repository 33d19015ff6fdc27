// `train --browser-workers K`: the last K workers of a launched run as worker pages in headless
// Chromium (the system binary, driven by puppeteer-core) instead of worker processes. The pages join
// over the embedded nats-server's websocket listener and get their config and data from the run's
// page server; their events go where the processes' lines go, their final checkpoints into
// <run>/workers like the processes'.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrainTest, type RunConfig } from '@gossamer/worker';
import { startPageServer } from '@gossamer/worker-page';
import { UsageError } from './command.js';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Where the browser is: GOSSAMER_CHROMIUM, else the first system binary found. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.GOSSAMER_CHROMIUM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}

/**
 * Checks `--browser-workers` against the run before anything starts (the launcher spawns nothing
 * until this passes); returns the browser to use.
 */
export function checkBrowserWorkers(count: number, config: RunConfig, given: { nats?: string }): string {
  if (!Number.isInteger(count) || count < 1 || count > config.workers) {
    throw new UsageError(`--browser-workers ${count}: give a whole number from 1 to the run's ${config.workers} workers`);
  }
  if (given.nats) throw new UsageError('--browser-workers with --nats: the pages join over the embedded nats-server\'s websocket listener; leave --nats out');
  if ((config.checkpointEvery ?? 0) > 0) throw new UsageError('--browser-workers with checkpointEvery: worker pages write no round checkpoints, so the run could not be resumed; leave checkpointEvery out');
  const chromium = findChromium();
  if (!chromium) {
    throw new UsageError(`--browser-workers: no Chromium found (looked at ${process.env.GOSSAMER_CHROMIUM ?? CHROMIUM_CANDIDATES.join(', ')}); install it (infra/setup.sh) or set GOSSAMER_CHROMIUM`);
  }
  return chromium;
}

/** The indices of the browser workers: the last `count` of the run. */
export function browserIndices(workers: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => workers - count + i);
}

export interface BrowserWorkersOptions {
  config: RunConfig;
  runId: string;
  runDir: string;
  chromium: string;
  indices: readonly number[];
  natsWsUrl: string;
  peerTimeoutMs?: number;
  /** `hardware`: Chromium's own GPU choice; anything else: SwiftShader, like the worker processes here. */
  adapter?: string;
  /** Each event of a page, as the JSON line a worker process would print. */
  onLine(line: string): void;
  /** A page that ended without finishing (failed, its tab closed, the browser crashed). */
  onPageFailure(worker: string, exit: string, detail: string): void;
}

export interface BrowserWorkers {
  /** Resolves when every page has finished or failed. */
  readonly settled: Promise<void>;
  /** Closes every page (a leave for those still running), the browser and the page server. */
  close(): Promise<void>;
}

/** Opens the browser workers' pages; they start joining at once. */
export async function startBrowserWorkers(options: BrowserWorkersOptions): Promise<BrowserWorkers> {
  const { default: puppeteer } = await import('puppeteer-core');
  const ids = options.indices.map((i) => `w${i}`);
  const settle = new Map<string, () => void>();
  const settled = Promise.all(ids.map((w) => new Promise<void>((ok) => settle.set(w, ok)))).then(() => undefined);
  const end = (worker: string, failure?: { exit: string; detail: string }): void => {
    const ok = settle.get(worker);
    if (!ok) return;
    settle.delete(worker);
    if (failure) options.onPageFailure(worker, failure.exit, failure.detail);
    ok();
  };
  const server = await startPageServer({
    runId: options.runId,
    config: options.config,
    data: await loadTrainTest(options.config.dataset, options.config.seed),
    natsWsServers: [options.natsWsUrl],
    workers: options.indices.map((index) => ({ worker: `w${index}`, index })),
    peerTimeoutMs: options.peerTimeoutMs,
    onEvent: (worker, event) => {
      options.onLine(JSON.stringify({ ...event, worker }));
      if (event.type !== 'page') return;
      if (event.state === 'done') end(worker);
      else if (event.state === 'failed' || event.state === 'closed') end(worker, { exit: `page ${String(event.state)}`, detail: String(event.detail ?? '') });
    },
    onResult: (worker, checkpoint) => writeFileSync(join(options.runDir, 'workers', `${worker}.ckpt`), checkpoint),
  });
  const swiftshader = (options.adapter ?? process.env.GOSSAMER_ADAPTER ?? 'auto') !== 'hardware' ? ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'] : [];
  const browser = await puppeteer.launch({
    executablePath: options.chromium,
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--enable-unsafe-webgpu', '--enable-features=Vulkan', ...swiftshader],
  });
  browser.on('disconnected', () => {
    for (const w of [...settle.keys()]) end(w, { exit: 'browser gone', detail: 'the browser disconnected before the page finished' });
  });
  try {
    for (const worker of ids) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => end(worker, { exit: 'page error', detail: e instanceof Error ? e.message : String(e) }));
      page.on('close', () => end(worker, { exit: 'page closed', detail: 'the tab was closed before the worker finished' }));
      await page.goto(server.pageUrl(worker));
    }
  } catch (e) {
    await browser.close().catch(() => undefined);
    await server.close();
    throw e;
  }
  return {
    settled,
    close: async () => {
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}
