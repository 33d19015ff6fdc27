// What a NatsTransport can be told, and the settings it runs with once defaults are applied.
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import type { Capabilities, WireError } from '@gossamer/wire';
import type { BandwidthLimit } from '../bandwidth.js';
import { TransportUsageError } from '../errors.js';
import { DEFAULT_HEARTBEAT_FANOUT } from '../monitor.js';
import type { ViewKeeperOptions } from '../views.js';
import { checkToken } from './subjects.js';

export interface NatsTransportOptions {
  /** This worker's id: [A-Za-z0-9_-]+, at most 128 bytes. */
  readonly id: string;
  /** The run: [A-Za-z0-9_-]+. Envelopes of other runs are rejected (WRONG_RUN). */
  readonly runId: string;
  /** NATS server URL(s), e.g. a NatsServer's `url`. */
  readonly servers: string | readonly string[];
  /**
   * The workers allowed in the run. If given, anything from another sender is rejected
   * (UNKNOWN_SENDER; but see openMembership) and any valid message from a listed worker (re)admits
   * it. If not, a worker becomes a member by Join or Heartbeat, and other messages from non-members
   * are rejected.
   */
  readonly peers?: readonly string[];
  /**
   * `peers` are the run's first workers, not the only ones: a worker with another id may join the
   * run in progress and grow it past its size. Senders are then admitted as without `peers` (by
   * Join or Heartbeat); the first view is still `peers`.
   */
  readonly openMembership?: boolean;
  /**
   * Join a run in progress (a restarted worker): the first view is this worker alone, and it asks
   * the members, with every heartbeat until it is in, to add it at their next view (docs/elastic.md).
   */
  readonly join?: boolean;
  /** Capabilities announced in Join. */
  readonly capabilities?: Partial<Capabilities>;
  /** Heartbeat period, ms (default 1000). */
  readonly heartbeatIntervalMs?: number;
  /** A peer silent this long is declared gone, ms (default 3 × heartbeatIntervalMs). */
  readonly peerTimeoutMs?: number;
  /**
   * How many ring neighbours each worker sends its heartbeat to, and so how many watch it
   * (default 4; monitor.ts). With n ≤ fanout + 1 workers, every worker watches every other.
   */
  readonly heartbeatFanout?: number;
  /** The view agreement's quorum and timeouts (the first view is `peers`, or this worker alone). */
  readonly views?: ViewKeeperOptions;
  /** Default receive timeout, ms (default 30 000). */
  readonly receiveTimeoutMs?: number;
  /** Default send timeout (until the receiver acknowledges the whole tensor), ms (default 30 000). */
  readonly sendTimeoutMs?: number;
  /** Silence after which missing chunks are requested again (or a probe is sent), ms (default 250). */
  readonly retransmitAfterMs?: number;
  /** Unacknowledged bytes a sender may have in flight per transfer (default 8 MiB). */
  readonly windowBytes?: number;
  /** Largest tensor accepted from a peer, bytes (default 1 GiB): a bound on what a peer can make this worker allocate. */
  readonly maxTensorBytes?: number;
  /** Limit on this worker's outgoing tensor data (token bucket), to emulate a slow uplink. */
  readonly bandwidth?: BandwidthLimit;
  /** Largest message to send; default (and upper bound) the server's max_payload. */
  readonly maxPayload?: number;
  /** Called with every rejected message (e.g. to log it); the transport itself prints nothing. */
  readonly onWireError?: (error: WireError) => void;
  /** Extra options for the NATS connection (name, auth, TLS, ...); TLS files apply in Node only. */
  readonly connectionOptions?: Partial<NodeConnectionOptions>;
  /**
   * Opens the connection: `connect` of @nats-io/transport-node (TCP), `wsconnect` of
   * @nats-io/nats-core (websocket; browsers). Default: the package entry's (Node: TCP; browser: websocket).
   */
  readonly connect?: NatsConnect;
}

/** A function that opens a NATS connection (transport-node's connect, nats-core's wsconnect). */
export type NatsConnect = (options: ConnectionOptions) => Promise<NatsConnection>;

/** The options' timers and sizes with their defaults applied. */
export interface NatsSettings {
  readonly heartbeatIntervalMs: number;
  readonly peerTimeoutMs: number;
  readonly heartbeatFanout: number;
  readonly receiveTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly retransmitAfterMs: number;
  readonly windowBytes: number;
  /** A receiver acknowledges progress every this many bytes (a quarter of the window). */
  readonly ackEveryBytes: number;
  readonly maxTensorBytes: number;
  /** Largest message this transport sends (≤ the server's max_payload). */
  readonly maxPayload: number;
}

/** Throws TransportUsageError for ids that cannot be subject tokens and for a bad fanout. */
export function checkOptions(options: NatsTransportOptions): void {
  checkToken('worker id', options.id);
  checkToken('run id', options.runId);
  for (const peer of options.peers ?? []) checkToken('peer id', peer);
  const fanout = options.heartbeatFanout;
  if (fanout !== undefined && (!Number.isInteger(fanout) || fanout < 1)) throw new TransportUsageError(`heartbeatFanout ${fanout}: expected an integer ≥ 1`);
}

/** The settings for `options` on a server whose max_payload is `serverMaxPayload`. */
export function resolveSettings(options: NatsTransportOptions, serverMaxPayload: number): NatsSettings {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
  const windowBytes = options.windowBytes ?? 8 * 1024 * 1024;
  return {
    heartbeatIntervalMs,
    peerTimeoutMs: options.peerTimeoutMs ?? 3 * heartbeatIntervalMs,
    heartbeatFanout: options.heartbeatFanout ?? DEFAULT_HEARTBEAT_FANOUT,
    receiveTimeoutMs: options.receiveTimeoutMs ?? 30_000,
    sendTimeoutMs: options.sendTimeoutMs ?? 30_000,
    retransmitAfterMs: options.retransmitAfterMs ?? 250,
    windowBytes,
    ackEveryBytes: Math.max(1, Math.floor(windowBytes / 4)),
    maxTensorBytes: options.maxTensorBytes ?? 1024 ** 3,
    maxPayload: Math.min(options.maxPayload ?? serverMaxPayload, serverMaxPayload),
  };
}

/**
 * The wait before the next repair attempt after `attempts` unanswered ones: ×2 per attempt, at most
 * ×16, so a receiver that is merely slow is not flooded with probes while its server-side backlog is
 * already large.
 */
export function repairBackoffMs(settings: NatsSettings, attempts: number): number {
  return settings.retransmitAfterMs * 2 ** Math.min(attempts, 4);
}

// ---- opening the connection ------------------------------------------------------------------------

let defaultConnect: NatsConnect | undefined;

/** Sets how NatsTransport.connect opens connections when its options give no `connect` (each entry sets its own). */
export function setDefaultNatsConnect(connect: NatsConnect): void {
  defaultConnect = connect;
}

/** The connection options connect() uses: reconnect for ever, quickly; the caller's options on top. */
function connectionOptions(options: NatsTransportOptions): ConnectionOptions {
  return {
    name: `gossamer ${options.runId} ${options.id}`,
    noEcho: true, // our own broadcasts (membership) are of no use to us
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
    pingInterval: 20_000,
    ...options.connectionOptions,
    servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
  };
}

/** Opens the connection of NatsTransport.connect(): with `options.connect`, else the entry's default. */
export async function openConnection(options: NatsTransportOptions): Promise<NatsConnection> {
  const connect = options.connect ?? defaultConnect;
  if (connect === undefined) {
    throw new TransportUsageError('no way to open a NATS connection: give options.connect (wsconnect of @nats-io/nats-core in a browser, connect of @nats-io/transport-node in Node)');
  }
  return connect(connectionOptions(options));
}
