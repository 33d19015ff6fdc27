// @gossamer/transport: the Transport interface algorithms are written against, its in-process and
// NATS implementations, the nats-server launcher and the bandwidth limiter. This is the Node entry:
// NatsTransport.connect dials TCP here; browser.ts is the entry for pages (websocket, no Node APIs).
import { connect } from '@nats-io/transport-node';
import { setDefaultNatsConnect } from './nats/options.js';

setDefaultNatsConnect(connect);

export * from './types.js';
export * from './errors.js';
export { TokenBucket, type BandwidthLimit, type TokenBucketOptions } from './bandwidth.js';
export {
  ringAllReduce,
  segmentBounds,
  wireRoundTrip,
  DEFAULT_INT8_BLOCK,
  type RingPhase,
  type SegmentLink,
  type SegmentTransfer,
  type RingAllReduceOptions,
} from './allreduce.js';
export {
  InProcessNetwork,
  InProcessTransport,
  createInProcessNetwork,
  type InProcessNetworkOptions,
  type LinkProfile,
} from './inprocess.js';
export {
  NatsServer,
  NatsServerNotFoundError,
  NatsServerStartError,
  startNatsServer,
  findNatsServer,
  type NatsServerOptions,
} from './nats-server.js';
export { NatsTransport } from './nats/transport.js';
export { setDefaultNatsConnect } from './nats/options.js';
export { natsSubjects } from './nats/subjects.js';
export type { NatsTransportOptions, NatsConnect } from './nats/options.js';
export { natsSecurityOptions, credentialsKind, type NatsSecurity } from './nats-security.js';
export { credentialsAuthenticator } from './nats-credentials.js';
export * from './views.js';
export { HeartbeatMonitor, ringPlace, DEFAULT_HEARTBEAT_FANOUT, type RingPlace } from './monitor.js';
export {
  CheckpointStore,
  CheckpointStoreError,
  JetStreamUnavailableError,
  checkpointBucket,
  checkpointObjectName,
  type CheckpointPointer,
  type CheckpointStoreOptions,
} from './checkpoint-store.js';
