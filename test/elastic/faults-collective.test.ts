// All-reduce SGD and CO2 under the faults D-SGD meets in faults.test.ts, over real worker processes
// and a real nats-server: a worker frozen (SIGSTOP) past the timeout, the server killed and
// restarted, and (CO2) a worker whose parameters turn NaN. Their collectives must abort within the detection
// time, re-form over the survivors and redo the round; the replicas (CO2: also the anchors) stay the
// same bits on every survivor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig, simulateRun, type RunConfig } from '@gossamer/worker';
import { startNatsServer } from '@gossamer/transport';
import { PEER_TIMEOUT_MS, corruptShardCsv, dsgd, expectSurvivorsAgree, finalParamsOf, runWithFault, sameBits } from '../support/faults.js';
import { startTrain, workerPid } from '../support/runs.js';

const ALGOS = ['allreduce', 'co2'] as const;
/** Rounds, and the round of w1's at which the fault comes: all-reduce SGD's rounds are single steps. */
const SHAPE = { allreduce: { rounds: 40, faultAt: 12 }, co2: { rounds: 70, faultAt: 20 } } as const;
const configOf = (algo: (typeof ALGOS)[number], extra: Partial<RunConfig> = {}): RunConfig =>
  resolveRunConfig({ ...dsgd, algo, merge: undefined, rounds: SHAPE[algo].rounds, ...extra });

describe('all-reduce SGD and CO2 under faults, over real worker processes', () => {
  it('a worker frozen (SIGSTOP) past the timeout is removed; woken, it is fenced and exits; the survivors stay identical', async () => {
    for (const algo of ALGOS) {
      const config = configOf(algo);
      const result = await runWithFault(config, SHAPE[algo].faultAt, (dir) => {
        const pid = workerPid(dir, 'w1');
        process.kill(pid, 'SIGSTOP');
        setTimeout(() => process.kill(pid, 'SIGCONT'), 2 * PEER_TIMEOUT_MS + 2000);
      });
      const failure = (result.summary.failures as { exit: string; detail: string }[])[0];
      expect(failure.detail, algo).toMatch(/w1 was removed from the run/);
      await expectSurvivorsAgree(config, result, 'w1');
    }
  }, 240_000);

  it('nats-server killed and restarted mid-run: nobody is removed, and all four replicas are the fault-free run\'s, bit for bit', async () => {
    const server = await startNatsServer();
    try {
      for (const algo of ALGOS) {
        const config = configOf(algo);
        let restarted: Promise<void> | undefined;
        const result = await runWithFault(config, SHAPE[algo].faultAt, () => (restarted = server.kill().then(() => server.restart())), ['--nats', server.url]);
        await restarted;
        expect(restarted, algo).toBeDefined();
        expect(result.code, result.stderr.slice(-3000)).toBe(0);
        expect(result.summary.failures, algo).toEqual([]);
        expect(result.summary.views, algo).toEqual([]);
        const params = finalParamsOf(result.dir, ['w0', 'w1', 'w2', 'w3']);
        const faultFree = await simulateRun(config);
        for (const [k, p] of params.entries()) expect(sameBits(p, faultFree[0].params), `${algo}: w${k} equals the simulation`).toBe(true);
      }
    } finally {
      await server.close();
    }
  }, 240_000);

  it('CO2: a worker whose parameters turn NaN (its shard is corrupt) is refused, leaves, and the survivors finish finite and identical', async () => {
    // As in faults.test.ts: class 3's features are ~1e38, so the worker dealt that class overflows
    // within its local steps; its transport refuses to send non-finite values and it leaves
    // ('failed'). Not all-reduce SGD: there the corrupt worker's gradients are still finite, but
    // ~1e38, when they are summed, and the ring's sums overflow at the other workers (docs/elastic.md).
    const csv = corruptShardCsv();
    for (const algo of ['co2'] as const) {
      const config = configOf(algo, { dataset: { kind: 'csv', path: csv, label: 'label' }, partition: { kind: 'shards', shardsPerWorker: 1 }, rounds: 30 });
      const run = startTrain(config, ['--peer-timeout', String(PEER_TIMEOUT_MS)]);
      const { code, stderr } = await run.exited;
      expect(code, stderr.slice(-3000)).toBe(0);
      const summary = JSON.parse(readFileSync(join(run.dir, 'run', 'summary.json'), 'utf8')) as { failures: { workers: string; detail: string }[]; finished: string[]; views: { removed: string[] }[] };
      expect(summary.failures.length, algo).toBe(1);
      const bad = summary.failures[0].workers;
      expect(summary.failures[0].detail, algo).toMatch(/is (NaN|-?Infinity): only finite values can be sent|not finite on the wire|NaN or ±Inf/);
      expect(summary.views.map((v) => v.removed)).toEqual([[bad]]);
      const survivors = ['w0', 'w1', 'w2', 'w3'].filter((w) => w !== bad);
      expect(summary.finished).toEqual(survivors);
      const params = finalParamsOf(run.dir, survivors);
      for (const p of params) expect(p.every(Number.isFinite), algo).toBe(true);
      for (const p of params.slice(1)) expect(sameBits(p, params[0]), `${algo}: the survivors' replicas are the same bits`).toBe(true);
    }
  }, 240_000);
});
