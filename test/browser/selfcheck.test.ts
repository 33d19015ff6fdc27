import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

// The browser half of the runtime: the built packages (dist/, with WGSL bundled in) loaded as plain
// ES modules by headless Chromium, whose WebGPU runs on SwiftShader here and on the GPU elsewhere.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function serve(): Promise<Server> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const file = url === '/' ? join(root, 'test/browser/selfcheck.html') : join(root, url);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

function runPage(url: string, timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) => {
    const args = [
      '--headless=new',
      '--no-sandbox',
      '--no-first-run',
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--enable-logging=stderr',
      '--v=0',
      `--user-data-dir=/tmp/gossamer-chromium-${process.pid}`,
      url,
    ];
    // Without a GPU, ask Chromium for SwiftShader explicitly (Debian's chromium ships it).
    if ((process.env.GOSSAMER_ADAPTER ?? 'auto') !== 'hardware') args.splice(4, 0, '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader');
    const child: ChildProcess = spawn(chromium!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`no result from the page within ${timeoutMs} ms; chromium said:\n${log.slice(-3000)}`));
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /GOSSAMER_RESULT (\{.*\})"/.exec(log);
      if (m) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        ok(m[1].replace(/\\"/g, '"'));
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
}

describe('the runtime in a browser (navigator.gpu)', () => {
  let server: Server;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('runs every kernel self-check in headless Chromium with the bundled WGSL', async () => {
    expect(chromium, 'chromium is installed by infra/setup.sh').toBeDefined();
    const port = (server.address() as AddressInfo).port;
    const result = JSON.parse(await runPage(`http://127.0.0.1:${port}/`, 90_000)) as {
      error?: string;
      adapter?: string;
      results?: { name: string; maxError: number; tolerance: number }[];
    };
    expect(result.error).toBeUndefined();
    expect(result.adapter).toBeTruthy();
    expect(result.results!.length).toBeGreaterThan(0);
    for (const r of result.results!) expect(r.maxError, r.name).toBeLessThanOrEqual(r.tolerance);
  });
});
