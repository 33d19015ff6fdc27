/**
 * The layout of one flat float32 parameter buffer: every tensor of a model is a named segment
 * (offset, shape) of it. Optimizers, gossip mixing, clipping and the wire work on the whole buffer;
 * layers and inspection work on segments.
 *
 * Segments start on 64-float (256-byte) boundaries, WebGPU's storage-binding offset alignment, so
 * any single tensor can also be bound on its own. The padding is zero and stays zero under every
 * optimizer (its gradient is zero), so it never changes a norm or an average.
 */
export const SEGMENT_ALIGN_FLOATS = 64;

export type Initializer =
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; bound: number }
  /** He/Kaiming uniform: U(−√(6/fanIn), √(6/fanIn)), for layers followed by ReLU. */
  | { kind: 'he-uniform'; fanIn: number }
  /** Glorot/Xavier uniform: U(−√(6/(fanIn+fanOut)), …). */
  | { kind: 'glorot-uniform'; fanIn: number; fanOut: number }
  /**
   * Approximately N(0, std²) (GPT-2's init): the Irwin–Hall sum of 12 uniforms minus 6, so it needs
   * integer arithmetic only (Box–Muller's log and cos may differ in the last bit between engines);
   * it has the normal's mean and variance and is bounded at ±6·std.
   */
  | { kind: 'normal'; std: number };

export interface TensorSpec {
  name: string;
  shape: readonly number[];
  init: Initializer;
}

export interface Segment {
  readonly name: string;
  /** Element offset in the flat buffer (a multiple of SEGMENT_ALIGN_FLOATS). */
  readonly offset: number;
  /** Number of elements (product of shape). */
  readonly length: number;
  readonly shape: readonly number[];
  readonly init: Initializer;
}

export class ParameterLayout {
  private readonly byName: Map<string, Segment>;

  private constructor(
    readonly segments: readonly Segment[],
    /** Total floats of the flat buffer, padding included. */
    readonly length: number,
  ) {
    this.byName = new Map(segments.map((s) => [s.name, s]));
  }

  static build(tensors: readonly TensorSpec[]): ParameterLayout {
    const segments: Segment[] = [];
    const seen = new Set<string>();
    let offset = 0;
    for (const t of tensors) {
      if (seen.has(t.name)) throw new Error(`ParameterLayout: duplicate tensor name "${t.name}"`);
      seen.add(t.name);
      if (t.shape.length === 0 || t.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
        throw new Error(`ParameterLayout: tensor "${t.name}" has invalid shape [${t.shape.join(', ')}]`);
      }
      const length = t.shape.reduce((a, b) => a * b, 1);
      segments.push({ name: t.name, offset, length, shape: [...t.shape], init: t.init });
      offset += Math.ceil(length / SEGMENT_ALIGN_FLOATS) * SEGMENT_ALIGN_FLOATS;
    }
    return new ParameterLayout(segments, Math.max(offset, SEGMENT_ALIGN_FLOATS));
  }

  /** Number of real parameters (padding excluded). */
  get parameterCount(): number {
    return this.segments.reduce((a, s) => a + s.length, 0);
  }

  segment(name: string): Segment {
    const s = this.byName.get(name);
    if (!s) throw new Error(`no tensor "${name}" in this layout (has: ${[...this.byName.keys()].join(', ')})`);
    return s;
  }

  /** A CPU view of one tensor inside a flat host copy of the parameters. */
  view(flat: Float32Array, name: string): Float32Array {
    if (flat.length !== this.length) throw new Error(`view: flat buffer has ${flat.length} floats, layout needs ${this.length}`);
    const s = this.segment(name);
    return flat.subarray(s.offset, s.offset + s.length);
  }

  /** A stable description, stored in checkpoints and compared on load. */
  describe(): { name: string; offset: number; shape: number[] }[] {
    return this.segments.map((s) => ({ name: s.name, offset: s.offset, shape: [...s.shape] }));
  }
}
