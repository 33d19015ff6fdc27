// Adapters in Node: Dawn's `webgpu` package, with SwiftShader chosen by pointing the Vulkan loader at
// its ICD before Dawn creates its instance (the loader reads VK_ICD_FILENAMES on every instance
// creation, so this works in-process). Only the Node entry (index.ts) imports this module, and it
// imports Node's modules lazily, so even a page that loads dist/index.js directly never touches them.
import { GpuUnavailableError, SWIFTSHADER_ICD_CANDIDATES } from './errors.js';
import { describeAdapter, setAdapterSource, type AcquiredAdapter, type AdapterChoice } from './acquire.js';

/** Finds SwiftShader's ICD file: `GOSSAMER_SWIFTSHADER_ICD`, then where Debian's chromium puts it. */
export async function findSwiftShaderIcd(): Promise<string | undefined> {
  // Imported lazily so that browser bundles never touch node:fs.
  const { existsSync } = await import('node:fs');
  const fromEnv = process.env.GOSSAMER_SWIFTSHADER_ICD;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return SWIFTSHADER_ICD_CANDIDATES.find((p) => existsSync(p));
}

type DawnModule = { create(flags: string[]): GPU; globals: Record<string, unknown> };
let dawn: DawnModule | undefined;

async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    // The Vulkan loader and SwiftShader complain on stderr when XDG_RUNTIME_DIR is unset (common in
    // containers and CI); they use it for nothing a compute workload needs.
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = (await import('node:os')).tmpdir();
    const mod = (await import('webgpu')) as unknown as DawnModule;
    // Install GPUBufferUsage, GPUMapMode, ... once, as browsers have them.
    Object.assign(globalThis, mod.globals);
    dawn = mod;
  }
  return dawn;
}

/**
 * Dawn instances must outlive their adapters and devices: if the `GPU` object from create() is
 * garbage-collected while a device lives, Dawn's event processing runs on a freed instance and the
 * process aborts (futex/mutex assertions). Instances are few and cheap, so keep every one.
 */
const liveInstances: GPU[] = [];

async function dawnAdapter(flags: string[], powerPreference: GPUPowerPreference): Promise<GPUAdapter | null> {
  const mod = await loadDawn();
  try {
    const instance = mod.create(flags);
    liveInstances.push(instance);
    return await instance.requestAdapter({ powerPreference });
  } catch {
    // Dawn throws "no suitable backends found" when a named adapter is absent.
    return null;
  }
}

/** The Node adapter source (see acquireAdapter for what `choice` means). */
export async function dawnAcquire(choice: AdapterChoice, powerPreference: GPUPowerPreference): Promise<AcquiredAdapter> {
  const wanted = choice.toLowerCase();
  const useSwiftShader = async (): Promise<GPUAdapter | null> => {
    const icd = await findSwiftShaderIcd();
    if (!icd) return null;
    process.env.VK_ICD_FILENAMES = icd;
    return dawnAdapter([], powerPreference);
  };

  let adapter: GPUAdapter | null = null;
  if (wanted === 'swiftshader' || wanted === 'cpu') {
    adapter = await useSwiftShader();
    if (!adapter) throw new GpuUnavailableError('SwiftShader was asked for but its Vulkan ICD was not found');
  } else if (wanted === 'auto' || wanted === 'hardware' || wanted === 'gpu') {
    adapter = await dawnAdapter([], powerPreference);
    if (adapter && wanted !== 'auto' && describeAdapter(adapter).isSoftware) adapter = null;
    if (!adapter && wanted === 'auto') adapter = await useSwiftShader();
    if (!adapter) {
      throw new GpuUnavailableError(
        wanted === 'auto' ? 'Dawn found no Vulkan/Metal/D3D12 device and SwiftShader is not installed' : 'no hardware GPU adapter found',
      );
    }
  } else {
    adapter = await dawnAdapter([`adapter=${choice}`], powerPreference);
    if (!adapter) adapter = (await useSwiftShader()) ?? null;
    if (!adapter || !describeAdapter(adapter).description.toLowerCase().includes(wanted)) {
      throw new GpuUnavailableError(`no adapter whose name contains "${choice}"`);
    }
  }
  return { adapter, ...describeAdapter(adapter) };
}

setAdapterSource(dawnAcquire);
