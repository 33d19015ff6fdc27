// `gossamer worker` on a NATS server secured as infra/nats/secure sets it up: TLS, one nkey per
// worker, each allowed to publish only on its own subjects. Workers with their own credentials train
// to the end; a worker given another worker's credentials is refused by NATS and says so clearly;
// unusable credential files are reported before connecting.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig } from '@gossamer/worker';
import { startNatsServer, type NatsServer } from '../support/nats-cluster.js';
import { prepareSecure, type SecureSetup } from '../support/nats-secure.js';
import { runCli, shown } from './cli.js';

const RUN = 'sec1';
let setup: SecureSetup;
let server: NatsServer;
let scratch: string;
let configFile: string;

beforeAll(async () => {
  setup = prepareSecure({ run: RUN, workers: ['w0', 'w1'] });
  server = await startNatsServer({ config: setup.config, cwd: setup.dir });
  scratch = mkdtempSync(join(tmpdir(), 'gossamer-secure-worker-'));
  configFile = join(scratch, 'run.json');
  const config = resolveRunConfig({
    algo: 'dsgd',
    dataset: { kind: 'blobs', samples: 240, classes: 3, features: 6 },
    model: 'softmax',
    optimizer: { kind: 'sgd', lr: 0.1 },
    batchSize: 12,
    workers: 2,
    rounds: 2,
    localSteps: 1,
    evalEvery: 0,
    seed: 1,
  });
  writeFileSync(configFile, JSON.stringify(config));
});

afterAll(async () => {
  await server?.stop();
  setup?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const seedFile = (user: string) => join(setup.dir, 'nkeys', `${user}.nk`);
const workerArgs = (id: string, creds: string, extra: string[] = []) => [
  'worker', '--nats', server.url, '--run', RUN, '--config', configFile, '--id', id,
  '--creds', creds, '--tls-ca', setup.caFile, '--join-timeout', '60000', ...extra,
];

describe('gossamer worker on a secured NATS (TLS + per-worker nkeys)', () => {
  it('workers with their own credentials finish the run and write their checkpoints', async () => {
    const out = join(scratch, 'ok');
    const results = await Promise.all(['w0', 'w1'].map((id) => runCli(workerArgs(id, seedFile(id), ['--out', out, '--log-level', 'debug']), { timeoutMs: 200_000 })));
    for (const r of results) expect(r.code, shown(r)).toBe(0);
    expect(results[0].stderr).toMatch(/connecting .*auth=.*credentials .*w0\.nk, TLS/);
    expect(results[0].stderr).toMatch(/joined the run\s+worker=w0 run=sec1 peers=1/);
    for (const id of ['w0', 'w1']) {
      const params = decodeCheckpoint(readFileSync(join(out, `${id}.ckpt`))).sections.get('params') as Float32Array;
      expect(params.length).toBeGreaterThan(0);
      expect(params.every(Number.isFinite)).toBe(true);
    }
  }, 240_000);

  it("a worker holding another worker's credentials is refused by NATS and says which subject and what to fix", async () => {
    // w0 with w1's seed: the server lets it subscribe but not publish on gossamer.sec1.w0.>.
    const r = await runCli(workerArgs('w0', seedFile('w1'), ['--join-timeout', '60000']), { timeoutMs: 120_000 });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toMatch(/NATS refused worker w0's publish on gossamer\.sec1\.w0\.member/);
    expect(r.stderr).toMatch(/Permissions Violation/i);
    expect(r.stderr).toMatch(/credentials issued for w0/);
    // It failed on the refusal, not by waiting out the 60 s join timeout for a peer.
    expect(r.stderr).not.toMatch(/did not join/);
  }, 150_000);

  it('the refusal is one JSON log record with --log-format json', async () => {
    const r = await runCli(workerArgs('w1', seedFile('w0'), ['--log-format', 'json']), { timeoutMs: 120_000 });
    expect(r.code, shown(r)).toBe(1);
    const records = r.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; fields: Record<string, unknown> });
    const error = records.find((rec) => rec.level === 'error');
    expect(error, shown(r)).toBeDefined();
    expect(error?.msg).toMatch(/NATS refused worker w1's publish on gossamer\.sec1\.w1\.member/);
    expect(error?.fields).toMatchObject({ command: 'worker', kind: 'TransportPermissionError' });
  }, 150_000);

  it('a credentials file that is neither a .creds file nor an nkey seed is reported before connecting', async () => {
    const bad = join(scratch, 'bad.nk');
    writeFileSync(bad, 'not a seed\n');
    const r = await runCli(workerArgs('w0', bad), { timeoutMs: 60_000 });
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toMatch(/bad\.nk holds neither NATS credentials .* nor an nkey user seed/);
    const missing = await runCli(workerArgs('w0', join(scratch, 'nope.nk')), { timeoutMs: 60_000 });
    expect(missing.code, shown(missing)).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the credentials file .*nope\.nk/);
  }, 150_000);
});
