// The sending half of the connection: every message goes out as an Envelope stamped with this
// worker's run, id, sequence number and current view epoch, on one of its own subjects
// (subjects.ts). A failed publish is counted, never thrown: repair and the timeouts take over.
import type { NatsConnection } from '@nats-io/nats-core';
import { EnvelopeEncoder, createEnvelope, type Envelope, type EnvelopeBodies, type MessageKind } from '@gossamer/wire';
import { natsSubjects } from './subjects.js';

/** The transport's traffic counters, shared by its parts (TransportStats reports them). */
export interface NatsCounters {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  retransmitRequests: number;
  chunksRetransmitted: number;
  publishErrors: number;
  reconnects: number;
}

export function newCounters(): NatsCounters {
  return { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, retransmitRequests: 0, chunksRetransmitted: 0, publishErrors: 0, reconnects: 0 };
}

export class Publisher {
  private readonly encoder = new EnvelopeEncoder();
  private seq = 0;

  constructor(
    private readonly nc: NatsConnection,
    readonly runId: string,
    readonly id: string,
    private readonly viewEpoch: () => number,
    readonly counters: NatsCounters,
  ) {}

  /** To every worker of the run (its member subject). */
  toAll<K extends MessageKind>(kind: K, body: EnvelopeBodies[K]): void {
    this.publish(natsSubjects.member(this.runId, this.id), kind, body);
  }

  /** A control message to worker `to`. */
  toPeer<K extends MessageKind>(to: string, kind: K, body: EnvelopeBodies[K]): void {
    this.publish(natsSubjects.ctrl(this.runId, this.id, to), kind, body);
  }

  /** Tensor data to worker `to`. */
  data<K extends 'tensorChunk' | 'allReduceChunk'>(to: string, kind: K, body: EnvelopeBodies[K]): void {
    this.publish(natsSubjects.data(this.runId, this.id, to), kind, body);
  }

  private publish<K extends MessageKind>(subject: string, kind: K, body: EnvelopeBodies[K]): void {
    this.seq = (this.seq + 1) >>> 0 || 1;
    const envelope = createEnvelope({ runId: this.runId, sender: this.id, seq: this.seq, sendTimeMs: Date.now(), viewEpoch: this.viewEpoch() }, kind, body) as unknown as Envelope;
    // encode() returns a fresh buffer per message: publish() keeps a reference until its next flush.
    const bytes = this.encoder.encode(envelope);
    try {
      this.nc.publish(subject, bytes);
      this.counters.messagesSent++;
      this.counters.bytesSent += bytes.length;
    } catch {
      // Closed connection or the like: the message is lost, and repair (or the timeouts) take over.
      this.counters.publishErrors++;
    }
  }
}
