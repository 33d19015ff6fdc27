import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gpu } from '@gossamer/gpu';
import { decodeCheckpoint } from '@gossamer/model';
import { CheckpointStore, JetStreamUnavailableError, checkpointBucket, checkpointObjectName, type NatsTransport } from '@gossamer/transport';
import { bandwidthLimitOf, checkRunConfigFiles, hostWorkers, loadRunConfig, resolveRunConfig } from '@gossamer/worker';
import { CheckpointSink } from '../checkpoint-sink.js';
import { UsageError, type Command } from '../command.js';
import type { Logger } from '../log.js';
import { joinRun, joinSettingsFrom, natsJoinOptionHelp, natsJoinOptions, type JoinSettings } from '../nats-join.js';

/**
 * w<index> ids, given as a comma list; validated against the run's worker count. A joiner may take
 * an id beyond it (w<n>, w<n+1>, ...): the run grows (docs/elastic.md "Joining", data rule).
 */
function parseIds(text: string, workers: number, joining: boolean): number[] {
  return text.split(',').map((id) => {
    const m = /^w(\d+)$/.exec(id.trim());
    const index = m ? Number(m[1]) : Number.NaN;
    if (!(index >= 0 && Number.isSafeInteger(index))) throw new UsageError(`--id ${id}: worker ids are w0, w1, ... (w0 … w${workers - 1} for this run)`);
    if (index >= workers && !joining) throw new UsageError(`--id ${id}: worker ids are w0 … w${workers - 1} for this run; a worker beyond them can only join it in progress (add --join)`);
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
    'checkpoint-store': { type: 'string', default: 'auto' },
    resume: { type: 'string' },
    'resume-from-store': { type: 'string' },
    join: { type: 'boolean', default: false },
  },
  optionHelp: {
    ...natsJoinOptionHelp,
    config: 'the run config (JSON, or YAML if named *.yaml/*.yml) every worker of the run uses',
    id: 'worker id(s) this process hosts: w<index>, comma-separated (default: all, one process)',
    out: 'directory for each hosted worker\'s final checkpoint (<id>.ckpt)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    'checkpoint-dir':
      'write <dir>/round-<k>/<id>.ckpt every checkpointEvery rounds (run config), and a final one when stopped by SIGINT/SIGTERM (the workers agree on the round)',
    'checkpoint-store':
      'also keep the checkpoints in a JetStream object store: auto (bucket gossamer-ckpt-<run>, if the server has JetStream), off, or a bucket name',
    resume: 'start each hosted worker from <dir>/<id>.ckpt (a round-<k> directory of --checkpoint-dir)',
    'resume-from-store':
      '<round> | latest: start each hosted worker from its checkpoint of that round in the object store (latest: the latest round every worker of the run stored); for a restart of the whole run on any machine',
    join: 'join the run in progress (e.g. restart a worker that failed): the members add it at their next round boundary and hand it their state (fresher than any checkpoint)',
  },
  async run(values, _positionals, { log }) {
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    const nats = str('nats');
    const runId = str('run');
    const configFile = str('config');
    if (!nats || !runId || !configFile) throw new UsageError('--nats, --run and --config are required');
    const config = resolveRunConfig(await loadRunConfig(configFile));
    checkRunConfigFiles(config); // a csv dataset must be on this machine too, at the same path
    const indices = str('id') ? parseIds(str('id') as string, config.workers, values.join === true) : Array.from({ length: config.workers }, (_, i) => i);
    const ids = Array.from({ length: config.workers }, (_, i) => `w${i}`);
    const out = str('out');
    if (out) mkdirSync(out, { recursive: true });
    const joinSettings = joinSettingsFrom(values);
    const resume = str('resume');
    const joining = values.join === true;
    const fromStore = str('resume-from-store');
    const storeFlag = str('checkpoint-store') ?? 'auto';
    const resumes = [resume && '--resume', fromStore && '--resume-from-store', joining && '--join'].filter(Boolean);
    if (resumes.length > 1) throw new UsageError(`${resumes.join(' and ')}: a worker starts from one place (a joiner takes its state from a live member); give one of them`);
    if (fromStore !== undefined && fromStore !== 'latest' && !/^\d+$/.test(fromStore)) throw new UsageError(`--resume-from-store ${fromStore}: give a round (e.g. 8) or latest`);
    if (storeFlag !== 'auto' && storeFlag !== 'off' && !/^[A-Za-z0-9_-]+$/.test(storeFlag)) throw new UsageError(`--checkpoint-store ${storeFlag}: use auto, off, or a bucket name (letters, digits, - and _)`);
    if (fromStore !== undefined && storeFlag === 'off') throw new UsageError('--resume-from-store with --checkpoint-store off: the checkpoints are read from the store');
    const checkpointDir = str('checkpoint-dir');
    if (resume) for (const i of indices) if (!existsSync(join(resume, `w${i}.ckpt`))) throw new UsageError(`--resume ${resume}: no checkpoint w${i}.ckpt there`);
    const bucket = storeFlag === 'auto' ? checkpointBucket(runId) : storeFlag;
    const wantsStore = storeFlag !== 'off' && (fromStore !== undefined || checkpointDir !== undefined || (config.checkpointEvery ?? 0) > 0);
    const store = wantsStore ? await openStore(joinSettings, bucket, { reading: fromStore !== undefined, quiet: storeFlag === 'auto', log }) : undefined;
    // Every hosted worker's checkpoint is fetched and checked before the device starts.
    const fetched = fromStore !== undefined ? await fetchFromStore(store as CheckpointStore, fromStore, ids, indices, log).catch(async (e: unknown) => {
      await store?.close();
      throw e;
    }) : undefined;
    const adapter = str('adapter');
    const gpu = await Gpu.create(adapter ? { adapter } : {});
    const transports: NatsTransport[] = [];
    // One JSON object per line on stdout: the launcher (or a log collector) reads them.
    const emit = (e: object) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    const sink = new CheckpointSink({
      dir: checkpointDir,
      store,
      emit: (e) => {
        emit(e);
        if (e.type === 'warning') log.warn(e.message, { worker: e.worker });
      },
    });
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
        resumeFrom: resume
          ? async (id) => new Uint8Array(await readFile(join(resume, `${id}.ckpt`)))
          : fetched
            ? async (id) => fetched.get(id) as Uint8Array
            : undefined,
        saveRoundCheckpoint: sink.active ? (id, round, checkpoint) => sink.save(id, round, checkpoint) : undefined,
      });
      return abort.signal.aborted ? 130 : 0;
    } finally {
      await Promise.allSettled(transports.map((t) => t.close()));
      gpu.destroy();
      // Stopped: the launcher kills a worker 5 s after SIGTERM, so the store gets what fits.
      if (store && !(await sink.flush(abort.signal.aborted ? 1500 : 10_000))) log.warn('left checkpoints not yet in the object store (they are in the files)', { bucket });
      await store?.close().catch(() => undefined);
    }
  },
};

/**
 * The run's checkpoint bucket, or undefined (files only) when the server has no JetStream: said at
 * info level for `auto`, as a warning when a bucket was asked for. A reader needs it: that throws.
 */
async function openStore(settings: JoinSettings, bucket: string, how: { reading: boolean; quiet: boolean; log: Logger }): Promise<CheckpointStore | undefined> {
  try {
    const store = await CheckpointStore.open({ servers: settings.servers, connectionOptions: { name: `gossamer ${settings.runId}`, ...settings.connectionOptions }, bucket, create: !how.reading });
    how.log.debug('checkpoints also go to the object store', { bucket });
    return store;
  } catch (e) {
    if (how.reading) throw new Error(`--resume-from-store: ${(e as Error).message}`);
    const unavailable = e instanceof JetStreamUnavailableError;
    how.log.log(unavailable && how.quiet ? 'info' : 'warn', 'checkpoints go to files only', { bucket, reason: (e as Error).message });
    return undefined;
  }
}

/** Each hosted worker's checkpoint of `which` round ('latest': the latest every worker stored), decoded once to refuse a bad one now. */
async function fetchFromStore(store: CheckpointStore, which: string, ids: readonly string[], indices: readonly number[], log: Logger): Promise<Map<string, Uint8Array>> {
  const round = which === 'latest' ? await store.latestCompleteRound(ids) : Number(which);
  if (round === undefined) throw new Error(`--resume-from-store latest: bucket ${store.bucket} has no round that all ${ids.length} workers stored`);
  const fetched = new Map<string, Uint8Array>();
  for (const i of indices) {
    const bytes = await store.get(ids[i], round);
    const checkpoint = decodeCheckpoint(bytes, `object ${checkpointObjectName(round, ids[i])} of bucket ${store.bucket}`);
    if (checkpoint.header.resume?.round !== round) throw new Error(`object ${checkpointObjectName(round, ids[i])} of bucket ${store.bucket} is not a checkpoint to resume at round ${round}`);
    fetched.set(ids[i], bytes);
  }
  log.info('resuming from the object store', { bucket: store.bucket, round, workers: indices.map((i) => ids[i]) });
  return fetched;
}
