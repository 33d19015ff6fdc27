// @gossamer/transport/browser: the entry for a worker in a web page. The same Transport, subjects and
// wire format as the Node entry, over a websocket (@nats-io/nats-core's wsconnect, to a nats-server
// `websocket` listener), and nothing that needs Node: no nats-server launcher, no file-based
// credentials (credentials come as text), no checkpoint store.
import { wsconnect } from '@nats-io/nats-core';
import { setDefaultNatsConnect } from './nats/options.js';

setDefaultNatsConnect(wsconnect);

export * from './types.js';
export * from './errors.js';
export { TokenBucket, type BandwidthLimit, type TokenBucketOptions } from './bandwidth.js';
export { ringAllReduce, segmentBounds, wireRoundTrip, DEFAULT_INT8_BLOCK, type RingAllReduceOptions } from './allreduce.js';
export { InProcessNetwork, InProcessTransport, createInProcessNetwork, type InProcessNetworkOptions, type LinkProfile } from './inprocess.js';
export { NatsTransport } from './nats/transport.js';
export { setDefaultNatsConnect } from './nats/options.js';
export { natsSubjects } from './nats/subjects.js';
export type { NatsTransportOptions, NatsConnect } from './nats/options.js';
export { credentialsAuthenticator, credentialsKind } from './nats-credentials.js';
export * from './views.js';
export { HeartbeatMonitor, ringPlace, DEFAULT_HEARTBEAT_FANOUT, type RingPlace } from './monitor.js';
