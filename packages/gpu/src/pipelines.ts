import type { Constants, KernelSpec } from './kernel.js';
import { paramStructBytes } from './kernel.js';

export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Stable id of the layout, for bind-group caching. */
  layoutId: number;
  hasParams: boolean;
  paramBytes: number;
}

/**
 * Compiles each (kernel, constants) pair once. Layouts are explicit (not 'auto'), derived from the
 * kernel's binding convention, so a binding that a specialisation leaves unused is still valid and
 * bind groups can be shared between kernels with the same signature.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, { layout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout; id: number }>();
  private readonly compiled = new WeakMap<KernelSpec, Map<string, CompiledKernel>>();
  /** Validation results of pipeline creations not yet checked (see Gpu.sync). */
  readonly pendingChecks: Promise<string | null>[] = [];
  pipelinesCreated = 0;

  constructor(private readonly device: GPUDevice) {}

  get(kernel: KernelSpec, constants?: Constants): CompiledKernel {
    let byConstants = this.compiled.get(kernel);
    if (!byConstants) {
      byConstants = new Map();
      this.compiled.set(kernel, byConstants);
    }
    const key = constants ? constantsKey(constants) : '';
    let hit = byConstants.get(key);
    if (!hit) {
      hit = this.compile(kernel, constants);
      byConstants.set(key, hit);
    }
    return hit;
  }

  private module(kernel: KernelSpec): GPUShaderModule {
    let m = this.modules.get(kernel.source);
    if (!m) {
      m = this.device.createShaderModule({ code: kernel.source, label: kernel.name.split('.')[0] });
      this.modules.set(kernel.source, m);
    }
    return m;
  }

  private layoutFor(kernel: KernelSpec) {
    const hasParams = kernel.params.length > 0;
    const signature = `${hasParams ? 'u' : '-'}${kernel.storage.map((a) => (a === 'read' ? 'r' : 'w')).join('')}`;
    let entry = this.layouts.get(signature);
    if (!entry) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      if (hasParams) {
        entries.push({ binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'uniform', hasDynamicOffset: true } });
      }
      kernel.storage.forEach((access, i) => {
        entries.push({
          binding: i + 1,
          visibility: 4,
          buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
        });
      });
      const layout = this.device.createBindGroupLayout({ entries, label: `layout:${signature}` });
      const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [layout] });
      entry = { layout, pipelineLayout, id: this.layouts.size + 1 };
      this.layouts.set(signature, entry);
    }
    return entry;
  }

  private compile(kernel: KernelSpec, constants?: Constants): CompiledKernel {
    const { layout, pipelineLayout, id } = this.layoutFor(kernel);
    const numericConstants: Record<string, number> = {};
    for (const [k, v] of Object.entries(constants ?? {})) numericConstants[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: kernel.name,
      layout: pipelineLayout,
      compute: { module: this.module(kernel), entryPoint: kernel.entryPoint, constants: numericConstants },
    });
    this.pendingChecks.push(
      this.device.popErrorScope().then((e) => (e ? `pipeline ${kernel.name} ${JSON.stringify(constants ?? {})}: ${e.message}` : null)),
    );
    this.pipelinesCreated++;
    return { pipeline, layout, layoutId: id, hasParams: kernel.params.length > 0, paramBytes: paramStructBytes(kernel.params.length) };
  }
}

function constantsKey(c: Constants): string {
  return Object.keys(c)
    .sort()
    .map((k) => `${k}=${c[k]}`)
    .join(',');
}
