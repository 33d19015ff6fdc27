// A run that grows past its configured size: `gossamer worker --id w3 --join` joins a 3-worker D-SGD
// run in progress. The members add it at a round boundary, the source member hands it its state,
// the ring re-forms over four, and the exact merge is over all four (identical bits). Data rule:
// w3 shares shard 3 mod 3 = 0 with w0, with a batch order of its own. Without --join, an id beyond
// the run's size is refused before anything starts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '@gossamer/worker';
import { PEER_TIMEOUT_MS, dsgd } from '../support/faults.js';
import { finalParams, startTrain, workerPid } from '../support/runs.js';

const bin = resolve(import.meta.dirname, '../../packages/cli/dist/bin.js');

interface JoinerEvent {
  type: string;
  worker?: string;
  epoch?: number;
  source?: string;
  startRound?: number;
  round?: number;
  shard?: number;
}

describe('a run that grows past its configured size', () => {
  it('D-SGD over 3 workers: w3 joins with --join, shares shard 0, and all four merge to identical bits', async () => {
    const config = resolveRunConfig({ ...dsgd, workers: 3, rounds: 200 });
    let joiner: Promise<number | null> | undefined;
    let joinerOut = '';
    const run = startTrain(config, ['--peer-timeout', String(PEER_TIMEOUT_MS)], (line, r) => {
      if (joiner !== undefined || line.type !== 'round' || line.worker !== 'w0' || line.round !== 10) return;
      // w0's own command line, as a user adding a machine would type it, with a new id and --join.
      const args = readFileSync(`/proc/${workerPid(r.dir, 'w0')}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      const at = args.indexOf('--id');
      expect(at, 'the launcher gives each worker process --id').toBeGreaterThan(0);
      args[at + 1] = 'w3';
      const child = spawn(args[0], [...args.slice(1), '--join'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => (joinerOut += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (joinerOut += d.toString()));
      joiner = new Promise((done) => child.on('close', done));
    });
    const { code, stderr } = await run.exited;
    const joinerExit = await (joiner ?? Promise.resolve(-1));
    expect(code, `${stderr.slice(-3000)}\n[joiner]\n${joinerOut.slice(-3000)}`).toBe(0);
    expect(joinerExit, joinerOut.slice(-3000)).toBe(0);

    const events = joinerOut.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JoinerEvent);
    expect(events.find((e) => e.type === 'start')).toMatchObject({ worker: 'w3', shard: 0 });
    const joined = events.find((e) => e.type === 'joined');
    expect(joined?.source).toBe('w0');
    // The members: view 1 adds w3 (nobody left), from the round the joiner starts at.
    const views = run.lines.filter((l) => l.type === 'view');
    for (const w of ['w0', 'w1', 'w2']) {
      const mine = views.filter((v) => v.worker === w);
      expect(mine.map((v) => v.members)).toEqual([['w0', 'w1', 'w2', 'w3']]);
      expect(mine[0]).toMatchObject({ epoch: 1, added: ['w3'], removed: [], startRound: joined?.startRound });
    }
    // The joiner trained every round from there, and the exact merge was over all four.
    const start = joined?.startRound as number;
    expect(start).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'round').map((e) => e.round)).toEqual(Array.from({ length: 200 - start }, (_, k) => start + k));
    const params = finalParams(join(run.dir, 'run'), ['w0', 'w1', 'w2', 'w3']);
    for (const p of params.slice(1)) expect(p.equals(params[0])).toBe(true);
  });

  it('an id beyond the run\'s size without --join is refused before anything connects', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gossamer-grow-')), 'run.json');
    writeFileSync(file, JSON.stringify(resolveRunConfig({ ...dsgd, workers: 3 })));
    // Nothing listens on port 1: a worker that got as far as connecting would fail differently.
    const r = spawnSync(process.execPath, [bin, 'worker', '--nats', 'nats://127.0.0.1:1', '--run', 'grow', '--config', file, '--id', 'w5'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--id w5: worker ids are w0 … w2 for this run; a worker beyond them can only join it in progress (add --join)');
    const bad = spawnSync(process.execPath, [bin, 'worker', '--nats', 'nats://127.0.0.1:1', '--run', 'grow', '--config', file, '--id', 'x1', '--join'], { encoding: 'utf8' });
    expect(bad.status, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('--id x1: worker ids are w0, w1, ...');
  });
});
