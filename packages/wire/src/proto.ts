// Typed view of the code protobufjs-cli generates from proto/gossamer.proto (src/generated/, built by
// scripts/codegen.mjs). The generated classes type nested messages loosely (every field optional and
// nullable); the types here say what a *valid* message holds, which is what the decoder returns after
// validation and what the encoder expects.
import { gossamer } from './generated/gossamer.js';

/** The generated code: namespace `gossamer.v1` holds the message classes and enums (values and types). */
export { gossamer };

/** Shorthand for the generated `gossamer.v1` (a value: classes with encode/decode, enums). */
export const pb = gossamer.v1;

// Enums: a runtime object (name → number) and the union of its values, both from the generated code.
export const DType = gossamer.v1.DType;
export type DType = gossamer.v1.DType;
export const LeaveReason = gossamer.v1.LeaveReason;
export type LeaveReason = gossamer.v1.LeaveReason;
export const WorkerState = gossamer.v1.WorkerState;
export type WorkerState = gossamer.v1.WorkerState;
export const AllReducePhase = gossamer.v1.AllReducePhase;
export type AllReducePhase = gossamer.v1.AllReducePhase;
export const ReduceOp = gossamer.v1.ReduceOp;
export type ReduceOp = gossamer.v1.ReduceOp;
export const ErrorCode = gossamer.v1.ErrorCode;
export type ErrorCode = gossamer.v1.ErrorCode;
export const ViewStep = gossamer.v1.ViewStep;
export type ViewStep = gossamer.v1.ViewStep;
export const ProtocolVersion = gossamer.v1.ProtocolVersion;
export type ProtocolVersion = gossamer.v1.ProtocolVersion;

/** The data fields of a generated message class (without protobufjs's `$unknowns`). */
type Fields<T> = Omit<T, '$unknowns'>;

// Messages without nested messages are exactly their generated class's fields.
export interface Capabilities extends Fields<gossamer.v1.Capabilities> {}
export interface Leave extends Fields<gossamer.v1.Leave> {}
export interface ViewChange extends Fields<gossamer.v1.ViewChange> {}
export interface TensorChunk extends Fields<gossamer.v1.TensorChunk> {}
export interface TransferKey extends Fields<gossamer.v1.TransferKey> {}

// Messages with nested messages: required ones are required here (the validator enforces it).
export interface Join extends Omit<Fields<gossamer.v1.Join>, 'capabilities'> {
  capabilities: Capabilities;
}
export interface Heartbeat extends Omit<Fields<gossamer.v1.Heartbeat>, 'capabilities'> {
  /** Optional refresh of the sender's capabilities. */
  capabilities?: Capabilities | null;
}
export interface ChunkAck extends Omit<Fields<gossamer.v1.ChunkAck>, 'transfer'> {
  transfer: TransferKey;
}
export interface RetransmitRequest extends Omit<Fields<gossamer.v1.RetransmitRequest>, 'transfer'> {
  transfer: TransferKey;
}
export interface AllReduceChunk extends Omit<Fields<gossamer.v1.AllReduceChunk>, 'chunk'> {
  chunk: TensorChunk;
}
export interface ErrorReport extends Omit<Fields<gossamer.v1.ErrorReport>, 'transfer'> {
  /** The transfer concerned, if any. */
  transfer?: TransferKey | null;
}

/** The body message of each kind, keyed by the name of its `Envelope.body` oneof field. */
export interface EnvelopeBodies {
  join: Join;
  leave: Leave;
  heartbeat: Heartbeat;
  tensorChunk: TensorChunk;
  chunkAck: ChunkAck;
  retransmitRequest: RetransmitRequest;
  allReduceChunk: AllReduceChunk;
  errorReport: ErrorReport;
  viewChange: ViewChange;
}

/** A message kind: the name of the `Envelope.body` case. */
export type MessageKind = keyof EnvelopeBodies;

// Compile-time check that EnvelopeBodies lists exactly the oneof cases of the generated Envelope: a
// body added to the proto without a type here (or the reverse) fails the type-check.
type GeneratedKinds = NonNullable<gossamer.v1.Envelope['body']>;
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const kindsMatchProto: Exactly<MessageKind, GeneratedKinds> = true;
void kindsMatchProto;

/** Every message kind, in field-number order. */
export const MESSAGE_KINDS: readonly MessageKind[] = [
  'join',
  'leave',
  'heartbeat',
  'tensorChunk',
  'chunkAck',
  'retransmitRequest',
  'allReduceChunk',
  'errorReport',
  'viewChange',
];

/** The header every envelope carries (see Envelope in proto/gossamer.proto). */
export interface EnvelopeHeader {
  protocolVersion: number;
  runId: string;
  sender: string;
  seq: number;
  sendTimeMs: number;
  /** The sender's membership view (0: the run's first view). */
  viewEpoch: number;
}

/** An envelope whose body is of kind K: `{ ...header, body: K, [K]: message }`, as protobufjs shapes a oneof. */
export type EnvelopeOf<K extends MessageKind> = EnvelopeHeader & { body: K } & { [P in K]: EnvelopeBodies[K] };

/** A valid envelope: a header and exactly one body, discriminated by `body`. */
export type Envelope = { [K in MessageKind]: EnvelopeOf<K> }[MessageKind];

/** Header fields a sender fills in; the protocol version is added by {@link createEnvelope}. */
export type EnvelopeHeaderInit = Omit<EnvelopeHeader, 'protocolVersion' | 'viewEpoch'> & { viewEpoch?: number };
