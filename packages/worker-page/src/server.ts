// The run's side of its worker pages (Node): a small HTTP server that hands each page its join
// parameters, the run config and the run's data (so a page derives exactly the shard a Node worker
// with its index would), and takes the pages' events and final checkpoints back. It serves join
// parameters with credentials in them, so it listens on loopback unless told otherwise.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { encodeTrainTest, type RunConfig, type TrainTest } from '@gossamer/worker';
import type { PageJoin } from './join.js';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built page: page.html and the bundle scripts/bundle.mjs writes. */
export const PAGE_FILES = { html: join(PACKAGE_ROOT, 'page.html'), script: join(PACKAGE_ROOT, 'dist/page.bundle.js') } as const;

export interface PageWorker {
  /** w<index>. */
  readonly worker: string;
  readonly index: number;
  readonly credentials?: string;
}

export interface PageServerOptions {
  readonly runId: string;
  readonly config: RunConfig;
  readonly data: TrainTest;
  /** The nats-server websocket listener URL(s) the pages connect to. */
  readonly natsWsServers: readonly string[];
  readonly workers: readonly PageWorker[];
  readonly peerTimeoutMs?: number;
  readonly joinTimeoutMs?: number;
  /** Each event a page posts (its WorkerEvents and PageStateEvents), in the page's order. */
  readonly onEvent?: (worker: string, event: Record<string, unknown>) => void;
  /** A page's final checkpoint. */
  readonly onResult?: (worker: string, checkpoint: Uint8Array) => void;
  readonly host?: string;
  readonly port?: number;
}

export interface PageServer {
  readonly url: string;
  /** The page of worker `worker` (its join parameters in the query). */
  pageUrl(worker: string): string;
  close(): Promise<void>;
}

function body(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        fail(new Error(`request body over ${limit} bytes`));
        req.destroy();
      } else parts.push(d);
    });
    req.on('end', () => ok(Buffer.concat(parts)));
    req.on('error', fail);
  });
}

/** Starts the run's page server; the bundle must have been built (npm run build). */
export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const [html, script] = await Promise.all([readFile(PAGE_FILES.html), readFile(PAGE_FILES.script)]).catch((e: unknown) => {
    throw new Error(`the worker page is not built (${(e as Error).message}): run "npx turbo run build"`);
  });
  const data = encodeTrainTest(options.data);
  const config = JSON.stringify(options.config);
  const workers = new Map(options.workers.map((w) => [w.worker, w]));
  const joinOf = (w: PageWorker): PageJoin => ({
    runId: options.runId,
    worker: w.worker,
    index: w.index,
    servers: options.natsWsServers,
    ...(w.credentials ? { credentials: w.credentials } : {}),
    configUrl: '/config.json',
    dataUrl: '/data.bin',
    eventsUrl: `/events/${w.worker}`,
    resultUrl: `/result/${w.worker}`,
    peerTimeoutMs: options.peerTimeoutMs ?? 3000,
    joinTimeoutMs: options.joinTimeoutMs ?? 120_000,
  });
  const send = (res: ServerResponse, status: number, type: string, payload: string | Uint8Array): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(payload);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    const [, route, name] = path.split('/');
    const worker = name?.replace(/\.json$/, '');
    const known = worker !== undefined && workers.has(worker);
    if (req.method === 'GET') {
      if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html);
      if (path === '/page.bundle.js') return send(res, 200, 'text/javascript', script);
      if (path === '/config.json') return send(res, 200, 'application/json', config);
      if (path === '/data.bin') return send(res, 200, 'application/octet-stream', data);
      if (route === 'join' && known) return send(res, 200, 'application/json', JSON.stringify(joinOf(workers.get(worker)!)));
    } else if (req.method === 'POST' && known) {
      if (route === 'events') {
        options.onEvent?.(worker, JSON.parse((await body(req, 1 << 20)).toString('utf8')) as Record<string, unknown>);
        return send(res, 204, 'text/plain', '');
      }
      if (route === 'result') {
        const bytes = await body(req, 1 << 30);
        options.onResult?.(worker, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        return send(res, 204, 'text/plain', '');
      }
    }
    send(res, 404, 'text/plain', 'not found');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 400, 'text/plain', (e as Error).message));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  return {
    url,
    pageUrl: (worker) => `${url}/?join=${encodeURIComponent(`/join/${worker}.json`)}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
