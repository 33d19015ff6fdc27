// The outer state of CO2 / SlowMo on the GPU: anchor a, previous anchor a_prev and outer momentum m
// as flat buffers laid out like the replica's parameters, plus a staging buffer for the all-reduced
// average x̄ and the stats of the last outer step. The update itself is one fused kernel
// (@gossamer/kernels encodeOuterStep) and one submit.
import { STORAGE_USAGE, type Gpu } from '@gossamer/gpu';
import { createSegmentTable, encodeOuterStep, outerStatsLength, span, type OuterStepConfig, type SegmentTable } from '@gossamer/kernels';
import type { Replica } from '@gossamer/model';

export class OuterState {
  readonly anchor: GPUBuffer;
  readonly previousAnchor: GPUBuffer;
  readonly momentum: GPUBuffer;
  /** x̄, uploaded before each outer step. */
  readonly average: GPUBuffer;
  readonly stats: GPUBuffer;
  private readonly table: SegmentTable;
  private readonly length: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly replica: Replica,
    name: string,
  ) {
    this.length = replica.layout.length;
    const bytes = 4 * this.length;
    // One segment per tensor: the gap penalty is per tensor; padding (zero everywhere) is skipped.
    this.table = createSegmentTable(gpu, replica.layout.segments.map((s) => ({ offset: s.offset, length: s.length })));
    this.anchor = gpu.createBuffer(bytes, STORAGE_USAGE, `${name}/anchor`);
    this.previousAnchor = gpu.createBuffer(bytes, STORAGE_USAGE, `${name}/previous-anchor`);
    this.momentum = gpu.createBuffer(bytes, STORAGE_USAGE, `${name}/outer-momentum`);
    this.average = gpu.createBuffer(bytes, STORAGE_USAGE, `${name}/average`);
    this.stats = gpu.createBuffer(4 * outerStatsLength(this.table), STORAGE_USAGE, `${name}/outer-stats`);
  }

  /** a ← x, a_prev ← x, m ← 0: the start of training. */
  begin(): void {
    const step = this.gpu.beginStep('outer-begin');
    const bytes = 4 * this.length;
    step.copy(this.replica.params, 0, this.anchor, 0, bytes);
    step.copy(this.replica.params, 0, this.previousAnchor, 0, bytes);
    step.clear(this.momentum, 0, bytes);
    step.submit();
  }

  /** x ← a (the next round starts at the anchor) and a_prev ← a: round 0 of CO2, nothing to apply yet. */
  restartAtAnchor(): void {
    const step = this.gpu.beginStep('outer-restart');
    const bytes = 4 * this.length;
    step.copy(this.anchor, 0, this.replica.params, 0, bytes);
    step.copy(this.anchor, 0, this.previousAnchor, 0, bytes);
    step.submit();
  }

  /** Uploads x̄ and encodes the fused outer step (m, a_prev, a, and x ← a): one submit. */
  apply(average: Float32Array, config: OuterStepConfig): void {
    if (average.length !== this.length) throw new Error(`OuterState.apply: average has ${average.length} floats, the layout ${this.length}`);
    this.gpu.write(this.average, 0, average);
    const step = this.gpu.beginStep('outer-step');
    const whole = (b: GPUBuffer) => span(b, 0, this.length);
    encodeOuterStep(
      this.gpu,
      step,
      {
        table: this.table,
        average: whole(this.average),
        momentum: whole(this.momentum),
        anchor: whole(this.anchor),
        previousAnchor: whole(this.previousAnchor),
        params: this.replica.paramSpan,
        stats: span(this.stats, 0, outerStatsLength(this.table)),
      },
      config,
    );
    step.submit();
  }

  destroy(): void {
    for (const b of [this.anchor, this.previousAnchor, this.momentum, this.average, this.stats]) b.destroy();
    this.table.destroy();
  }
}
