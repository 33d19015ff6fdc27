// The worker page's script (bundled into dist/page.bundle.js): one worker of a run, running the same
// loop as a Node worker process (hostLoadedWorkers) on navigator.gpu, over the nats-server websocket
// listener. Everything it needs comes from the run: join parameters, config and data over HTTP; it
// reports its events and final checkpoint back the same way, and shows its state in the page.
import { Gpu } from '@gossamer/gpu';
import { NatsTransport, credentialsAuthenticator, type Transport } from '@gossamer/transport';
import { decodeTrainTest, hostLoadedWorkers, resolveRunConfig, type RunConfig, type TrainTest, type WorkerEvent } from '@gossamer/worker';
import { parsePageJoin, type PageJoin, type PageState, type PageStateEvent } from './join.js';

function show(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

/** Posts events in order (each waits for the one before), so the run reads them as a Node worker's stdout. */
function eventPoster(url: string): { post(event: object): void; drained(): Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  return {
    post(event) {
      const body = JSON.stringify({ time: new Date().toISOString(), ...event });
      // keepalive: the last events (a leave) still go out while the tab closes.
      chain = chain.then(() => fetch(url, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'application/json' } }).then(() => undefined, () => undefined));
    },
    drained: () => chain,
  };
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  return r;
}

async function run(join: PageJoin): Promise<void> {
  const events = eventPoster(join.eventsUrl);
  let state: PageState = 'loading';
  const setState = (next: PageState, detail?: string): void => {
    state = next;
    show('state', next);
    if (detail) show('detail', detail);
    events.post({ type: 'page', worker: join.worker, state: next, ...(detail ? { detail } : {}) } satisfies PageStateEvent);
  };
  show('worker', join.worker);
  show('run', join.runId);
  setState('loading');

  let config: RunConfig;
  let data: TrainTest;
  let gpu: Gpu;
  try {
    config = resolveRunConfig((await (await fetchOk(join.configUrl)).json()) as Partial<RunConfig>);
    data = decodeTrainTest(new Uint8Array(await (await fetchOk(join.dataUrl)).arrayBuffer()));
    gpu = await Gpu.create();
  } catch (e) {
    setState('failed', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    return events.drained();
  }
  show('adapter', gpu.adapterDescription);
  const ids = Array.from({ length: config.workers }, (_, i) => `w${i}`);
  let transport: Transport | undefined;
  const finished = (): boolean => state === 'done' || state === 'failed' || state === 'closed';

  // The tab going away mid-run is a leave: the peers change their view at once instead of waiting
  // out the heartbeat timeout.
  const leave = (): void => {
    if (finished()) return;
    setState('closed', 'the page was closed');
    void transport?.close({ reason: 'shutdown', detail: 'page closed' });
  };
  addEventListener('pagehide', leave);
  addEventListener('beforeunload', leave);
  // A lost device (driver reset, GPU process crash, destroyed by other code in the page) ends this
  // worker: a leave. Only our own destroy at the end is not.
  let destroying = false;
  void gpu.device.lost.then((info) => {
    if (finished() || destroying) return;
    setState('failed', `device lost: ${info.message}`);
    void transport?.close({ reason: 'failed', detail: `device lost: ${info.message}` });
  });

  const emit = (e: WorkerEvent): void => {
    if (e.type === 'round') {
      show('round', String(e.round));
      show('loss', e.loss.toPrecision(5));
    }
    if (transport) show('bytes', String(transport.stats().bytesSent));
    events.post(e);
  };
  try {
    await hostLoadedWorkers(config, {
      indices: [join.index],
      gpu,
      data,
      emit,
      transportFor: async (id) => {
        setState('joining');
        const t = await NatsTransport.connect({
          id,
          runId: join.runId,
          servers: [...join.servers],
          peers: ids,
          peerTimeoutMs: join.peerTimeoutMs,
          // As a Node worker: a round waits for its slowest peer; a dead one is caught by heartbeats.
          receiveTimeoutMs: 600_000,
          sendTimeoutMs: 600_000,
          capabilities: { adapter: gpu.adapterDescription, softwareAdapter: gpu.isSoftware },
          connectionOptions: { name: `gossamer ${join.runId} ${id} (page)`, ...(join.credentials ? { authenticator: credentialsAuthenticator(join.credentials, `the credentials of ${id}`) } : {}) },
        });
        transport = t;
        try {
          await t.waitForPeers(ids, join.joinTimeoutMs);
        } catch (e) {
          await t.close();
          throw e;
        }
        setState('training');
        return t;
      },
      onFinalParameters: async (_id, checkpoint) => {
        const r = await fetch(join.resultUrl, { method: 'POST', body: checkpoint as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } });
        if (!r.ok) throw new Error(`POST ${join.resultUrl}: ${r.status}`);
      },
    });
    if (transport) show('bytes', String(transport.stats().bytesSent));
    setState('done');
  } catch (e) {
    if (!finished()) setState('failed', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  } finally {
    await events.drained();
    destroying = true;
    gpu.destroy();
  }
}

async function main(): Promise<void> {
  const joinUrl = new URLSearchParams(location.search).get('join') ?? 'join.json';
  try {
    await run(parsePageJoin(await (await fetchOk(joinUrl)).json()));
  } catch (e) {
    // Before the join parameters are known there is nowhere to report to but the page.
    show('state', 'failed');
    show('detail', e instanceof Error ? e.message : String(e));
  }
}

void main();
