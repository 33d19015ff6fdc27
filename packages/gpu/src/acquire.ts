import { GpuUnavailableError } from './errors.js';

/**
 * Which adapter to use:
 * - `auto`: a real GPU if one is found, else SwiftShader if it is installed;
 * - `hardware`: a real GPU or an error;
 * - `swiftshader`: the SwiftShader CPU driver (exact, slow; what CI uses);
 * - any other string: the adapter whose name contains it (case-insensitive), e.g. `nvidia`.
 */
export type AdapterChoice = 'auto' | 'hardware' | 'swiftshader' | (string & {});

export interface AcquiredAdapter {
  adapter: GPUAdapter;
  /** Human-readable description, e.g. "google swiftshader (SwiftShader driver 5.0.0)". */
  description: string;
  /** True when the adapter is a CPU implementation (SwiftShader, lavapipe, WARP). */
  isSoftware: boolean;
}

interface NavigatorLike {
  gpu?: GPU;
}

function browserGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: NavigatorLike }).navigator;
  return nav?.gpu;
}

/** The adapter's name as people read it, and whether it is a CPU implementation. */
export function describeAdapter(adapter: GPUAdapter): { description: string; isSoftware: boolean } {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s && s.length > 0);
  const description = `${parts.join(' ')}${info.description ? ` (${info.description})` : ''}`.trim();
  const lower = description.toLowerCase();
  const isSoftware =
    ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false) ||
    /swiftshader|llvmpipe|lavapipe|warp|software/.test(lower);
  return { description: description || 'unknown adapter', isSoftware };
}

/** Where adapters come from outside a browser: Dawn in Node (./dawn.ts registers itself from the Node entry). */
export type AdapterSource = (choice: AdapterChoice, powerPreference: GPUPowerPreference) => Promise<AcquiredAdapter>;
let nodeSource: AdapterSource | undefined;

/** Installs the non-browser adapter source; the package's Node entry does it, so browser bundles never load Dawn. */
export function setAdapterSource(source: AdapterSource): void {
  nodeSource = source;
}

/** Finds a WebGPU adapter: `navigator.gpu` in browsers, Dawn's `webgpu` package in Node (see ./dawn.ts). */
export async function acquireAdapter(
  choice: AdapterChoice = 'auto',
  powerPreference: GPUPowerPreference = 'high-performance',
): Promise<AcquiredAdapter> {
  const inBrowser = browserGpu();
  if (inBrowser) {
    const adapter = await inBrowser.requestAdapter({ powerPreference });
    if (!adapter) throw new GpuUnavailableError('navigator.gpu.requestAdapter() returned null in this browser');
    return { adapter, ...describeAdapter(adapter) };
  }

  if (!nodeSource) throw new GpuUnavailableError('this runtime has no navigator.gpu, and the browser entry of @gossamer/gpu has no Dawn (import @gossamer/gpu in Node)');
  return nodeSource(choice, powerPreference);
}
