// Halted nodes stay where they halted. The flooded halt stops one connected component at a time, so on
// a disconnected graph some nodes halt while others still iterate. Keeping the halted nodes' x, z, u
// fixed from then on makes the result independent of how the graph is partitioned: a worker whose
// nodes have all halted can stop, and its neighbours stop exchanging with it (every cut edge joins
// two nodes of one component, so both ends halt in the same iteration), as a single worker would.
import type { Gpu, StepEncoder } from '@gossamer/gpu';
import { gatherRows } from '@gossamer/kernels';
import type { GraphPart } from './part.js';

interface FrozenTensor {
  /** The tensor the kernels update (x: a row per node; z, u: a row per edge copy). */
  readonly live: GPUBuffer;
  readonly rows: number;
  /** [current rows | frozen rows]: the gather's source (it cannot read the buffer it writes). */
  readonly both: GPUBuffer;
  readonly indices: GPUBuffer;
  /** Row r's source in `both`: r (still iterating) or rows + r (frozen). */
  readonly index: Uint32Array;
  /** Which node a row belongs to (local index). */
  readonly nodeOf: (row: number) => number;
}

export class FrozenNodes {
  private tensors: FrozenTensor[] | undefined;
  private readonly frozen: Uint8Array;

  constructor(
    private readonly gpu: Gpu,
    private readonly part: GraphPart,
    private readonly dim: number,
  ) {
    this.frozen = new Uint8Array(part.nl);
  }

  /** Whether node i (local index) is frozen. */
  has(node: number): boolean {
    return this.frozen[node] === 1;
  }

  /**
   * Keeps `nodes` (local indices) at their current x, z and u from now on: the state after the
   * iteration in which they halted (call after that iteration's updates were submitted).
   */
  freeze(nodes: readonly number[]): void {
    if (nodes.length === 0) return;
    const tensors = this.ensureTensors();
    for (const i of nodes) this.frozen[i] = 1;
    const step = this.gpu.beginStep('netlasso-freeze');
    for (const t of tensors) {
      // Rows frozen before were restored by the last restore(), so copying every row keeps them too.
      step.copy(t.live, 0, t.both, t.rows * this.dim * 4, t.rows * this.dim * 4);
      for (let r = 0; r < t.rows; r++) t.index[r] = this.frozen[t.nodeOf(r)] ? t.rows + r : r;
      this.gpu.write(t.indices, 0, t.index);
    }
    step.submit();
  }

  /** Encodes, after an iteration's updates, putting every frozen row of x, z and u back. */
  restore(step: StepEncoder): void {
    if (this.tensors === undefined) return;
    const d = this.dim;
    for (const t of this.tensors) {
      step.copy(t.live, 0, t.both, 0, t.rows * d * 4);
      gatherRows(step, {
        source: { buffer: t.both, offset: 0, length: 2 * t.rows * d },
        indices: { buffer: t.indices, offset: 0, count: t.rows },
        destination: { buffer: t.live, offset: 0, length: t.rows * d },
        rowLength: d,
      });
    }
  }

  destroy(): void {
    for (const t of this.tensors ?? []) {
      t.both.destroy();
      t.indices.destroy();
    }
    this.tensors = undefined;
  }

  private ensureTensors(): FrozenTensor[] {
    if (this.tensors) return this.tensors;
    const { buffers, layout, nl, C } = this.part;
    const make = (live: GPUBuffer, rows: number, nodeOf: (row: number) => number, label: string): FrozenTensor => ({
      live,
      rows,
      both: this.gpu.createBuffer(Math.max(2 * rows * this.dim, 1) * 4, undefined, `netlasso-frozen-${label}`),
      indices: this.gpu.createBuffer(Math.max(rows, 1) * 4, undefined, `netlasso-frozen-${label}-rows`),
      index: new Uint32Array(Math.max(rows, 1)),
      nodeOf,
    });
    this.tensors = [
      make(buffers.x, nl, (r) => r, 'x'),
      make(buffers.z, C, (c) => layout.owners[c], 'z'),
      make(buffers.u, C, (c) => layout.owners[c], 'u'),
    ].filter((t) => t.rows > 0);
    return this.tensors;
  }
}
