// Checkpoints in a NATS JetStream object store (issue 14 item 4): one bucket per run, so a worker on
// any machine that reaches the server can fetch a checkpoint without a peer or a shared disk. The
// bytes are opaque here (the checkpoint format, with its own CRC, is @gossamer/model's); this module
// stores them, keeps a small "latest" pointer per worker, and refuses an object whose SHA-256 or
// size differs from what the store recorded.
//
// The store has a connection of its own: a checkpoint is megabytes in 128 KiB chunks, which must not
// queue in front of the transport's heartbeats and tensors.
import { createHash } from 'node:crypto';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm, StorageType, type ObjectInfo, type ObjectStore } from '@nats-io/obj';

/** The bucket of run `runId`'s checkpoints (bucket names allow letters, digits, - and _). */
export function checkpointBucket(runId: string): string {
  return `gossamer-ckpt-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The object holding worker `id`'s checkpoint for a resume at `round`. */
export function checkpointObjectName(round: number, id: string): string {
  return `round-${round}/${id}.ckpt`;
}

const pointerName = (id: string) => `latest/${id}.json`;

/** What the "latest" pointer of a worker says. */
export interface CheckpointPointer {
  round: number;
  object: string;
  size: number;
  digest: string;
}

/** The server has no JetStream (or this user may not use it): checkpoints stay in files. */
export class JetStreamUnavailableError extends Error {
  constructor(detail: string) {
    super(`the NATS server has no JetStream for this connection (${detail}); start it with -js, or keep checkpoints in files`);
    this.name = 'JetStreamUnavailableError';
  }
}

/** A checkpoint object is missing, corrupt, or the bucket cannot be reached. */
export class CheckpointStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointStoreError';
  }
}

export interface CheckpointStoreOptions {
  /** NATS server URL(s). */
  servers: readonly string[];
  /** Credentials, TLS, name (as for the transport). */
  connectionOptions?: NodeConnectionOptions;
  /** The bucket (checkpointBucket(runId)). */
  bucket: string;
  /** Create the bucket when it does not exist (writers); readers only open it. Default true. */
  create?: boolean;
  /** How long connecting and the JetStream probe may take, ms (default 3000). */
  timeoutMs?: number;
}

/** One run's checkpoints in a JetStream object store. */
export class CheckpointStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly os: ObjectStore,
    readonly bucket: string,
  ) {}

  /**
   * Connects and opens (or creates) the bucket. Rejects with JetStreamUnavailableError when the
   * server has no JetStream, CheckpointStoreError when a reader's bucket does not exist.
   */
  static async open(options: CheckpointStoreOptions): Promise<CheckpointStore> {
    const timeout = options.timeoutMs ?? 3000;
    const nc = await connect({ ...options.connectionOptions, servers: [...options.servers], timeout, name: `${options.connectionOptions?.name ?? 'gossamer'} checkpoints` });
    try {
      // A server without -js answers the account request with "no responders" at once.
      try {
        await (await jetstreamManager(nc, { timeout })).getAccountInfo();
      } catch (e) {
        throw new JetStreamUnavailableError((e as Error).message);
      }
      const objm = new Objm(nc);
      let os: ObjectStore;
      if (options.create ?? true) os = await objm.create(options.bucket, { storage: StorageType.File, description: 'Gossamer checkpoints' });
      else {
        try {
          os = await objm.open(options.bucket);
        } catch (e) {
          throw new CheckpointStoreError(`no checkpoint bucket ${options.bucket} on ${options.servers.join(',')} (${(e as Error).message})`);
        }
      }
      return new CheckpointStore(nc, os, options.bucket);
    } catch (e) {
      await nc.close();
      throw e;
    }
  }

  /** Stores worker `id`'s checkpoint for `round`, then points its "latest" at it. */
  async put(id: string, round: number, bytes: Uint8Array): Promise<CheckpointPointer> {
    const object = checkpointObjectName(round, id);
    const info = await this.os.putBlob({ name: object, description: `${id}'s checkpoint to resume at round ${round}` }, bytes);
    const pointer: CheckpointPointer = { round, object, size: info.size, digest: info.digest };
    await this.os.putBlob({ name: pointerName(id) }, new TextEncoder().encode(JSON.stringify(pointer)));
    return pointer;
  }

  /** Worker `id`'s checkpoint for `round`, verified against the store's digest and size. */
  async get(id: string, round: number): Promise<Uint8Array> {
    const object = checkpointObjectName(round, id);
    const where = `object ${object} of bucket ${this.bucket}`;
    let result;
    try {
      result = await this.os.get(object);
    } catch (e) {
      throw new CheckpointStoreError(`cannot read ${where}: ${(e as Error).message}`);
    }
    if (result === null) throw new CheckpointStoreError(`${where} does not exist`);
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of result.data) chunks.push(chunk);
      const error = await result.error;
      if (error) throw error;
    } catch (e) {
      throw new CheckpointStoreError(`${where} is corrupt or unreadable: ${(e as Error).message}`);
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    verify(bytes, result.info, where);
    return bytes;
  }

  /** Worker `id`'s "latest" pointer, or undefined when it has stored nothing. */
  async latest(id: string): Promise<CheckpointPointer | undefined> {
    const bytes = await this.os.getBlob(pointerName(id)).catch(() => null);
    if (bytes === null) return undefined;
    try {
      const p = JSON.parse(new TextDecoder().decode(bytes)) as CheckpointPointer;
      return Number.isInteger(p.round) ? p : undefined;
    } catch {
      return undefined; // not ours; the scan in latestCompleteRound does without it
    }
  }

  /**
   * The latest round every one of `ids` has a checkpoint for, or undefined. The pointers give it at
   * once (each worker stores rounds in order); a listing settles it when a put was lost.
   */
  async latestCompleteRound(ids: readonly string[]): Promise<number | undefined> {
    const pointers = await Promise.all(ids.map((id) => this.latest(id)));
    if (pointers.every((p) => p !== undefined)) {
      const round = Math.min(...pointers.map((p) => (p as CheckpointPointer).round));
      const infos = await Promise.all(ids.map((id) => this.os.info(checkpointObjectName(round, id))));
      if (infos.every((i) => i !== null && !i.deleted)) return round;
    }
    const have = new Map<number, Set<string>>();
    for (const info of await this.os.list()) {
      const m = /^round-(\d+)\/(.+)\.ckpt$/.exec(info.name);
      if (!m || info.deleted) continue;
      const round = Number(m[1]);
      if (!have.has(round)) have.set(round, new Set());
      have.get(round)?.add(m[2]);
    }
    const complete = [...have].filter(([, workers]) => ids.every((id) => workers.has(id))).map(([round]) => round);
    return complete.length ? Math.max(...complete) : undefined;
  }

  /** The store's record of an object (size, digest), or undefined. */
  async info(id: string, round: number): Promise<{ size: number; digest: string } | undefined> {
    const info = await this.os.info(checkpointObjectName(round, id));
    return info && !info.deleted ? { size: info.size, digest: info.digest } : undefined;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** The object store client checks the digest as it reads; checked again here, with the size, so a bad object never passes. */
function verify(bytes: Uint8Array, info: ObjectInfo, where: string): void {
  if (bytes.length !== info.size) throw new CheckpointStoreError(`${where} is corrupt: ${bytes.length} bytes read, the store recorded ${info.size}`);
  const want = info.digest.startsWith('SHA-256=') ? Buffer.from(info.digest.slice(8), 'base64url') : undefined;
  const got = createHash('sha256').update(bytes).digest();
  if (!want || !got.equals(want)) throw new CheckpointStoreError(`${where} is corrupt: its SHA-256 is not the recorded ${info.digest}`);
}
