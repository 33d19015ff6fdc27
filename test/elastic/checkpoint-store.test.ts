import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { CheckpointStore, checkpointBucket, startNatsServer, type NatsServer } from '@gossamer/transport';
import { resolveRunConfig, type RunConfig } from '@gossamer/worker';
import { bin, finalParams, startTrain } from '../support/runs.js';

// Issue 14 item 4, the object store half: on a server with JetStream every checkpoint a worker
// writes is also in the run's bucket, bit for bit, and `train --resume` continues from the bucket
// when the files are gone, ending exactly as the uninterrupted run; on a server without JetStream
// the files are written as before, with no error; a garbage object is refused, saying which.
const config = resolveRunConfig({
  algo: 'dsgd',
  topology: 'ring',
  schedule: 'gossip',
  merge: 'exact',
  dataset: { kind: 'blobs', samples: 800, classes: 4, features: 8 },
  model: 'mlp:12',
  optimizer: { kind: 'adamw', lr: 0.01 },
  batchSize: 16,
  workers: 4,
  rounds: 40,
  localSteps: 2,
  evalEvery: 0,
  checkpointEvery: 4,
  seed: 5,
} as Partial<RunConfig>);
const ids = ['w0', 'w1', 'w2', 'w3'];
const run = promisify(execFile);

function bucketOf(runDir: string): string {
  return (JSON.parse(readFileSync(join(runDir, 'checkpoint-store.json'), 'utf8')) as { bucket: string }).bucket;
}

async function toTheEnd(args: string[]): Promise<{ runDir: string; stderr: string }> {
  const r = startTrain(config, args);
  const { code, stderr } = await r.exited;
  expect(code, stderr.slice(-2000)).toBe(0);
  return { runDir: join(r.dir, 'run'), stderr };
}

describe('checkpoints in a JetStream object store', () => {
  let server: NatsServer;
  let reference: string;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('every checkpoint a real run writes is also in its bucket, bit for bit', async () => {
    reference = (await toTheEnd(['--nats', server.url])).runDir;
    const store = await CheckpointStore.open({ servers: [server.url], bucket: bucketOf(reference), create: false });
    try {
      for (let round = 4; round < config.rounds!; round += 4) {
        for (const id of ids) {
          const file = readFileSync(join(reference, 'checkpoints', `round-${round}`, `${id}.ckpt`));
          expect(Buffer.from(await store.get(id, round)).equals(file), `round ${round} ${id}`).toBe(true);
        }
      }
      expect(await store.latestCompleteRound(ids)).toBe(36);
    } finally {
      await store.close();
    }
    const metrics = readFileSync(join(reference, 'metrics.jsonl'), 'utf8');
    expect(metrics).toContain('"type":"checkpoint-stored"');
    expect(metrics).not.toContain('"type":"warning"');
  });

  it('stopped with Ctrl-C and its checkpoint files deleted, `train --resume --nats` continues from the bucket and ends with the uninterrupted run\'s parameters, bit for bit', async () => {
    expect(reference, 'the first test ran').toBeDefined();
    const reached = new Set<string>();
    const stopped = startTrain(config, ['--nats', server.url], (line, r) => {
      if (line.type === 'round' && line.round === 8 && line.worker) reached.add(line.worker);
      if (reached.size === 4 && !r.child.killed) r.child.kill('SIGINT');
    });
    const { code, stderr } = await stopped.exited;
    expect(code, stderr.slice(-2000)).toBe(130);
    const runDir = join(stopped.dir, 'run');
    rmSync(join(runDir, 'checkpoints'), { recursive: true });
    const resumed = await run(process.execPath, [bin, 'train', '--resume', runDir, '--nats', server.url], { timeout: 240_000 });
    const at = /resuming .* at round (\d+) from the object store \(bucket (\S+)\)/.exec(resumed.stdout);
    expect(at, resumed.stdout).not.toBeNull();
    expect(Number(at?.[1])).toBeGreaterThanOrEqual(8); // the final checkpoint of the Ctrl-C, or round 8's
    expect(at?.[2]).toBe(bucketOf(runDir));
    const want = finalParams(reference);
    const got = finalParams(runDir);
    for (let k = 0; k < 4; k++) expect(got[k].equals(want[k]), ids[k]).toBe(true);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { resumedFrom: string; finished: string[] };
    expect(summary).toMatchObject({ resumedFrom: 'store', finished: ids });
  });

  it('a server without JetStream: checkpoints go to the files, with no error or warning, and the run is the same', async () => {
    const plain = await startNatsServer();
    try {
      const { runDir, stderr } = await toTheEnd(['--nats', plain.url]);
      for (const id of ids) decodeCheckpoint(readFileSync(join(runDir, 'checkpoints', 'round-36', `${id}.ckpt`)));
      expect(stderr).not.toMatch(/warn|error/i);
      expect(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).not.toMatch(/"type":"(warning|checkpoint-stored)"/);
      const want = finalParams(reference);
      finalParams(runDir).forEach((p, k) => expect(p.equals(want[k]), ids[k]).toBe(true));
    } finally {
      await plain.close();
    }
  });

  it('a garbage object is refused, naming it, before the worker starts; bad flags are refused before anything starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-garbage-'));
    const configFile = join(dir, 'run.json');
    writeFileSync(configFile, JSON.stringify(config));
    const store = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('garbage') });
    await store.put('w0', 8, new TextEncoder().encode('not a checkpoint at all'));
    await store.close();
    const worker = (args: string[]) =>
      run(process.execPath, [bin, 'worker', '--nats', server.url, '--run', 'garbage', '--config', configFile, '--id', 'w0', ...args], { timeout: 60_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
    const garbage = await worker(['--resume-from-store', '8']);
    expect(garbage.code).not.toBe(0);
    expect(garbage.stderr).toContain('object round-8/w0.ckpt of bucket gossamer-ckpt-garbage is not a Gossamer checkpoint');
    const missing = await worker(['--resume-from-store', '4']);
    expect(missing.stderr).toContain('round-4/w0.ckpt of bucket gossamer-ckpt-garbage does not exist');
    for (const args of [['--resume-from-store', 'soon'], ['--resume-from-store', '8', '--join'], ['--resume-from-store', '8', '--checkpoint-store', 'off'], ['--checkpoint-store', 'a.b']]) {
      const bad = await worker(args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain(args[0] === '--checkpoint-store' ? '--checkpoint-store a.b' : '--resume-from-store');
    }
    // Without files, a resume says where it looked and why the store could not help.
    const resume = (runDir: string, record: object) => {
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'config.json'), JSON.stringify(config));
      writeFileSync(join(runDir, 'checkpoint-store.json'), JSON.stringify(record));
      return run(process.execPath, [bin, 'train', '--resume', runDir], { timeout: 60_000 }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    };
    const embedded = await resume(join(dir, 'embedded'), { bucket: 'gossamer-ckpt-x', nats: 'embedded' });
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toContain('its object store was in the embedded nats-server, which stopped with the run');
    const external = await resume(join(dir, 'external'), { bucket: 'gossamer-ckpt-x', nats: server.url });
    expect(external.code).toBe(2);
    expect(external.stderr).toContain(`give --nats ${server.url} to look in its object store`);
  });
});
