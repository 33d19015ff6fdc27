// Joining a run on a (possibly remote, secured) NATS: the flags `worker` and `netlasso-worker` share,
// and the one way both connect their transports, so a cluster's credentials and TLS work the same
// for every kind of worker.
import type { Gpu } from '@gossamer/gpu';
import { NatsTransport, natsSecurityOptions, type BandwidthLimit } from '@gossamer/transport';
import { UsageError, type Options } from './command.js';
import type { Logger } from './log.js';
import { flagKinds, numberFlag } from './flags.js';

export const natsJoinOptions = {
  nats: { type: 'string' },
  run: { type: 'string' },
  creds: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'peer-timeout': { type: 'string', default: '3000' },
  'join-timeout': { type: 'string', default: '120000' },
  'prefer-first-server': { type: 'boolean', default: false },
} as const satisfies Options;

export const natsJoinOptionHelp: Record<keyof typeof natsJoinOptions, string> = {
  nats: 'NATS server URL(s), comma-separated (e.g. nats://10.0.0.5:4222, tls://nats.example.org:4222)',
  run: 'run id shared by every worker of the run (subjects gossamer.<run>.*)',
  creds: "this worker's NATS credentials: a .creds file (user JWT + seed) or an nkey seed file (SU…, e.g. nkeys/w3.nk)",
  'tls-ca': 'CA certificate (PEM) that signed the server certificate; connects with TLS',
  'tls-cert': 'client certificate (PEM), for servers that verify clients (with --tls-key)',
  'tls-key': 'client key (PEM), with --tls-cert',
  'peer-timeout': 'ms without a heartbeat (sent every 1000 ms) before a peer is declared gone and the run goes on without it (default 3000)',
  'join-timeout': 'ms to wait for every worker of the run to join',
  'prefer-first-server': "connect to the first --nats URL (this machine's node) and use the others only as fallbacks; default: a random one, which spreads workers over the cluster",
};

type Values = Readonly<Record<string, unknown>>;
const str = (values: Values, key: string): string | undefined => (typeof values[key] === 'string' ? (values[key] as string) : undefined);

export interface JoinSettings {
  servers: string[];
  runId: string;
  peerTimeoutMs: number;
  joinTimeoutMs: number;
  connectionOptions: ReturnType<typeof natsSecurityOptions>;
  /** For logs: how this worker authenticates. */
  auth: string;
}

/** A positive number of milliseconds from a flag, else a UsageError naming it (NaN would turn the timer off). */
export function millisecondsFlag(values: Values, key: string): number {
  const ms = numberFlag(values, key, flagKinds.milliseconds, '3000');
  if (ms === undefined) throw new UsageError(`--${key}: expected a positive number of milliseconds, e.g. --${key} 3000`);
  return ms;
}

/** The join settings from the flags; files (credentials, certificates) are read now. */
export function joinSettingsFrom(values: Values): JoinSettings {
  const creds = str(values, 'creds');
  const tlsCa = str(values, 'tls-ca');
  return {
    servers: (str(values, 'nats') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    runId: str(values, 'run') ?? '',
    peerTimeoutMs: millisecondsFlag(values, 'peer-timeout'),
    joinTimeoutMs: millisecondsFlag(values, 'join-timeout'),
    connectionOptions: {
      ...natsSecurityOptions({ credentialsFile: creds, tlsCaFile: tlsCa, tlsCertFile: str(values, 'tls-cert'), tlsKeyFile: str(values, 'tls-key') }),
      // nats.js shuffles the server list by default: a worker on a host with its own node would
      // often talk through another host's, and lose the run whenever that host's link broke.
      ...(values['prefer-first-server'] === true ? { noRandomize: true } : {}),
    },
    auth: `${creds ? `credentials ${creds}` : 'no credentials'}${tlsCa || str(values, 'tls-cert') ? ', TLS' : ''}`,
  };
}

/** Connects worker `id` to the run and waits until every worker of `ids` has joined. */
export async function joinRun(
  settings: JoinSettings,
  worker: { id: string; ids: readonly string[]; gpu: Gpu; receiveTimeoutMs: number; bandwidth?: BandwidthLimit; log: Logger; join?: boolean },
): Promise<NatsTransport> {
  const { id, ids, gpu, log } = worker;
  log.debug('connecting', { worker: id, run: settings.runId, servers: settings.servers, auth: settings.auth });
  const transport = await NatsTransport.connect({
    id,
    runId: settings.runId,
    servers: settings.servers,
    peers: ids,
    // A run grows: a worker beyond its configured size may join it (gossamer worker --id w<n> --join).
    openMembership: true,
    join: worker.join,
    peerTimeoutMs: settings.peerTimeoutMs,
    // A round waits for its slowest peer, however slow; a dead peer is caught by the heartbeat
    // timeout (peerTimeoutMs), not by these.
    receiveTimeoutMs: worker.receiveTimeoutMs,
    sendTimeoutMs: worker.receiveTimeoutMs,
    bandwidth: worker.bandwidth,
    capabilities: { adapter: gpu.adapterDescription, softwareAdapter: gpu.isSoftware },
    connectionOptions: { name: `gossamer ${settings.runId} ${id}`, ...settings.connectionOptions },
    // Duplicates are what retransmission produces; anything else is a peer (or stranger) misbehaving.
    onWireError: (e) => log.log(e.reason === 'DUPLICATE' ? 'debug' : 'warn', 'rejected a message', { worker: id, reason: e.reason, sender: e.sender, detail: e.detail }),
  });
  // A worker joining a run in progress waits for a view with itself in it instead (hostWorkers).
  if (worker.join) return transport;
  try {
    await transport.waitForPeers(ids, settings.joinTimeoutMs);
  } catch (e) {
    await transport.close();
    throw e;
  }
  log.info('joined the run', { worker: id, run: settings.runId, peers: ids.length - 1 });
  return transport;
}
