// Gossip mixing of a replica's flat parameter buffer with its peers' over a Transport:
//   send x to the peers that need it, receive the peers' x into preallocated host arrays, upload them
//   stacked into one staging buffer, and mix on the GPU in one dispatch (x ← w_self·x + Σ w_k·x_k).
// Steady state allocates no GPU buffer: staging sized for the largest degree seen, reused.
import { STORAGE_USAGE, type Gpu } from '@gossamer/gpu';
import { mixNeighbours, robustMix, robustScratchLength, span, type F32Span, type RobustRule } from '@gossamer/kernels';
import type { NodeMixing } from '@gossamer/topology';
import type { Transport } from '@gossamer/transport';


export class GossipMixer {
  private staging?: GPUBuffer;
  private stagingVectors = 0;
  /** One float for the self weight and one per mixed vector; grown with the degree (never a fixed size). */
  private weights: GPUBuffer;
  private weightCount = 64;
  private readonly host: Float32Array[] = [];
  /** Robust mixing only: the rule's output (copied into x) and its scratch, sized for the degree. */
  private robustOut?: GPUBuffer;
  private robustScratch?: GPUBuffer;

  /**
   * @param ids worker ids by index (the topology's node numbering).
   * @param length floats of the flat vector (the replica's layout length).
   * @param viewEpoch the membership view the ids are the members of (its exchanges fail when it changes).
   */
  constructor(
    private readonly gpu: Gpu,
    private readonly transport: Transport,
    private readonly ids: readonly string[],
    private readonly length: number,
    private readonly viewEpoch?: number,
  ) {
    this.weights = gpu.createBuffer(4 * this.weightCount, STORAGE_USAGE, 'mixer/weights');
  }

  private ensureStaging(vectors: number): GPUBuffer {
    if (!this.staging || this.stagingVectors < vectors) {
      this.staging?.destroy();
      this.stagingVectors = Math.max(vectors, 1);
      this.staging = this.gpu.createBuffer(4 * this.length * this.stagingVectors, STORAGE_USAGE, 'mixer/staging');
    }
    while (this.host.length < vectors) this.host.push(new Float32Array(this.length));
    if (this.weightCount < vectors + 1) {
      this.weights.destroy();
      this.weightCount = vectors + 1;
      this.weights = this.gpu.createBuffer(4 * this.weightCount, STORAGE_USAGE, 'mixer/weights');
    }
    return this.staging;
  }

  /**
   * Sends `local` (a host copy of x, not to be modified until this resolves) to node.send's peers
   * under `key` and receives node.recv's vectors, in node.recv order (preallocated host arrays,
   * valid until the next exchange).
   */
  async exchange(local: Float32Array, node: NodeMixing, key: { tensor: number; round: number }): Promise<Float32Array[]> {
    this.ensureStaging(node.recv.length);
    const viewEpoch = this.viewEpoch;
    const sends = node.send.map((e) => this.transport.send(this.idOf(e.peer), key, local, { viewEpoch }));
    const received = node.recv.map((e, k) => this.transport.receive(this.idOf(e.peer), key, { into: this.host[k], viewEpoch }));
    // Settle both before rethrowing, so no rejection is left unobserved.
    const [sent, got] = await Promise.all([Promise.allSettled(sends), Promise.allSettled(received)]);
    for (const r of [...sent, ...got]) if (r.status === 'rejected') throw r.reason;
    return got.map((r) => (r as PromiseFulfilledResult<Float32Array>).value);
  }

  /**
   * Uploads `received` into the staging buffer (sized for `total` vectors) and returns it with the
   * weight vector [selfWeight, weights…] (length total + 1; entries past the received are the caller's).
   */
  private stage(received: readonly Float32Array[], selfWeight: number, weights: readonly number[], total: number): { staging: GPUBuffer; w: Float32Array } {
    const staging = this.ensureStaging(total);
    const w = new Float32Array(total + 1);
    w[0] = selfWeight;
    received.forEach((values, k) => {
      this.gpu.write(staging, 4 * k * this.length, values);
      w[k + 1] = weights[k];
    });
    return { staging, w };
  }

  /**
   * Encodes x ← selfWeight·x + Σ_k weights[k]·received[k] + Σ extra (one upload of the received
   * vectors, one dispatch) and submits it. `extra` vectors are host arrays or GPU buffers (copied on
   * the GPU), e.g. −(1 − w_ii)·x^t for the overlapped D-PSGD form.
   */
  apply(
    x: F32Span,
    selfWeight: number,
    received: readonly Float32Array[],
    weights: readonly number[],
    extra: readonly { values: Float32Array | GPUBuffer; weight: number }[] = [],
  ): void {
    const total = received.length + extra.length;
    const { staging, w } = this.stage(received, selfWeight, weights, total);
    const step = this.gpu.beginStep('gossip-mix');
    extra.forEach((e, j) => {
      const k = received.length + j;
      if (e.values instanceof Float32Array) this.gpu.write(staging, 4 * k * this.length, e.values);
      else step.copy(e.values, 0, staging, 4 * k * this.length, 4 * this.length);
      w[k + 1] = e.weight;
    });
    this.gpu.write(this.weights, 0, w);
    // Vectors sit this.length apart: push-sum messages carry one extra float (the weight) after x.
    mixNeighbours(step, { x, received: span(staging, 0, Math.max(total, 1) * this.length), count: total, stride: this.length, weights: span(this.weights, 0, total + 1) });
    step.submit();
  }

  /**
   * x ← rule(x, received) (robust.ts) in place of gossip averaging: uploads the received vectors,
   * runs the rule into a mixer-owned buffer and copies it into x, in one submit. `weights` (the
   * node's W_ij) are read by the clipping rule only.
   */
  applyRobust(x: F32Span, received: readonly Float32Array[], weights: readonly number[], rule: RobustRule): void {
    const k = received.length;
    if (k === 0) return;
    const { staging, w } = this.stage(received, 0, weights, k);
    this.gpu.write(this.weights, 0, w);
    const scratchFloats = robustScratchLength(this.length, this.stagingVectors);
    if (!this.robustScratch || this.robustScratch.size < 4 * scratchFloats) {
      this.robustScratch?.destroy();
      this.robustScratch = this.gpu.createBuffer(4 * scratchFloats, STORAGE_USAGE, 'mixer/robust-scratch');
    }
    this.robustOut ??= this.gpu.createBuffer(4 * this.length, STORAGE_USAGE, 'mixer/robust-out');
    const step = this.gpu.beginStep('robust-mix');
    robustMix(this.gpu, step, rule, {
      x,
      received: span(staging, 0, k * this.length),
      count: k,
      stride: this.length,
      out: span(this.robustOut, 0, x.length),
      weights: span(this.weights, 0, k + 1),
      scratch: span(this.robustScratch),
    });
    step.copy(this.robustOut, 0, x.buffer, 4 * x.offset, 4 * x.length);
    step.submit();
  }

  /** exchange + apply with the node's own weights (adapt-then-combine gossip), or the robust rule. */
  async mix(x: F32Span, local: Float32Array, node: NodeMixing, key: { tensor: number; round: number }, robust?: RobustRule): Promise<void> {
    const received = await this.exchange(local, node, key);
    const weights = node.recv.map((e) => e.w);
    if (robust) this.applyRobust(x, received, weights, robust);
    else this.apply(x, node.self, received, weights);
  }

  private idOf(peer: number): string {
    const id = this.ids[peer];
    if (id === undefined) throw new Error(`GossipMixer: no worker with index ${peer} (have ${this.ids.length})`);
    return id;
  }

  destroy(): void {
    this.staging?.destroy();
    this.robustOut?.destroy();
    this.robustScratch?.destroy();
    this.weights.destroy();
  }
}
