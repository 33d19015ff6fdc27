import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gpu } from '@gossamer/gpu';
import { saveCheckpointFile } from '@gossamer/model';
import type { NatsTransport } from '@gossamer/transport';
import { bandwidthLimitOf, hostWorkers, loadRunConfig, resolveRunConfig, type WorkerEvent } from '@gossamer/worker';
import { UsageError, type Command } from '../command.js';
import { joinRun, joinSettingsFrom, natsJoinOptionHelp, natsJoinOptions } from '../nats-join.js';

/** w<index> ids, given as a comma list; validated against the run's worker count. */
function parseIds(text: string, workers: number): number[] {
  return text.split(',').map((id) => {
    const m = /^w(\d+)$/.exec(id.trim());
    const index = m ? Number(m[1]) : Number.NaN;
    if (!(index >= 0 && index < workers)) throw new UsageError(`--id ${id}: worker ids are w0 … w${workers - 1} for this run`);
    return index;
  });
}

export const worker: Command = {
  name: 'worker',
  summary: 'join a distributed run as one or more workers (what every machine of a cluster runs)',
  usage: '--nats <url[,url]> --run <id> --config <run.json> --id <w3[,w4]> [--creds w3.nk --tls-ca ca.pem] [--out <dir>]',
  options: {
    ...natsJoinOptions,
    config: { type: 'string' },
    id: { type: 'string' },
    out: { type: 'string' },
    adapter: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'string' },
    join: { type: 'boolean', default: false },
  },
  optionHelp: {
    ...natsJoinOptionHelp,
    config: 'the run config (JSON, or YAML if named *.yaml/*.yml) every worker of the run uses',
    id: 'worker id(s) this process hosts: w<index>, comma-separated (default: all, one process)',
    out: 'directory for each hosted worker\'s final checkpoint (<id>.ckpt)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    'checkpoint-dir': 'with checkpointEvery in the config: write <dir>/round-<k>/<id>.ckpt every checkpointEvery rounds',
    resume: 'start each hosted worker from <dir>/<id>.ckpt (a round-<k> directory of --checkpoint-dir)',
    join: 'join the run in progress (e.g. restart a worker that failed): the members add it at their next round boundary and hand it their state',
  },
  async run(values, _positionals, { log }) {
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    const nats = str('nats');
    const runId = str('run');
    const configFile = str('config');
    if (!nats || !runId || !configFile) throw new UsageError('--nats, --run and --config are required');
    const config = resolveRunConfig(await loadRunConfig(configFile));
    const indices = str('id') ? parseIds(str('id') as string, config.workers) : Array.from({ length: config.workers }, (_, i) => i);
    const ids = Array.from({ length: config.workers }, (_, i) => `w${i}`);
    const out = str('out');
    if (out) mkdirSync(out, { recursive: true });
    const joinSettings = joinSettingsFrom(values);
    const resume = str('resume');
    const joining = values.join === true;
    if (joining && resume) throw new UsageError('--join and --resume: a joiner takes its state from a live member; give one of them');
    const checkpointDir = str('checkpoint-dir');
    if (resume) for (const i of indices) if (!existsSync(join(resume, `w${i}.ckpt`))) throw new UsageError(`--resume ${resume}: no checkpoint w${i}.ckpt there`);
    const adapter = str('adapter');
    const gpu = await Gpu.create(adapter ? { adapter } : {});
    const transports: NatsTransport[] = [];
    // One JSON object per line on stdout: the launcher (or a log collector) reads them.
    const emit = (e: WorkerEvent) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    const abort = new AbortController();
    process.once('SIGTERM', () => abort.abort());
    process.once('SIGINT', () => abort.abort());
    try {
      await hostWorkers(config, {
        indices,
        gpu,
        emit,
        signal: abort.signal,
        join: joining,
        transportFor: async (id) => {
          const t = await joinRun(joinSettings, { id, ids, gpu, log, receiveTimeoutMs: 600_000, bandwidth: bandwidthLimitOf(config.bandwidthMbps), join: joining });
          transports.push(t);
          return t;
        },
        onFinalParameters: out ? (id, checkpoint) => writeFileSync(join(out, `${id}.ckpt`), checkpoint) : undefined,
        resumeFrom: resume ? async (id) => new Uint8Array(await readFile(join(resume, `${id}.ckpt`))) : undefined,
        saveRoundCheckpoint: checkpointDir
          ? async (id, round, checkpoint) => {
              const dir = join(checkpointDir, `round-${round}`);
              await mkdir(dir, { recursive: true });
              await saveCheckpointFile(join(dir, `${id}.ckpt`), checkpoint); // atomic: written, then renamed
            }
          : undefined,
      });
      return abort.signal.aborted ? 130 : 0;
    } finally {
      await Promise.allSettled(transports.map((t) => t.close()));
      gpu.destroy();
    }
  },
};
