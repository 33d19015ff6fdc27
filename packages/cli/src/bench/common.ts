// Shared by the benchmarks: TF.js's WebGPU backend on the same adapter, and a peak-RSS sampler.
type Tf = typeof import('@tensorflow/tfjs-core');

/**
 * Every Dawn instance created here, kept reachable for the life of the process: if one is
 * garbage-collected while a device from it lives, Dawn aborts (futex/mutex assertions).
 */
const dawnInstances: GPU[] = [];
let tfjsLoaded: Promise<{ tf: Tf; adapter: string }> | undefined;

/** Adapter choices that acquireAdapter resolves without Dawn's `adapter=` flag. */
const UNNAMED_CHOICES = new Set(['auto', 'hardware', 'gpu', 'swiftshader', 'cpu']);

/**
 * TF.js with its WebGPU backend on Dawn's `webgpu` package. Call after Gpu.create(): when SwiftShader
 * was chosen, that set VK_ICD_FILENAMES, so a new Dawn instance finds the same adapter. The backend
 * registers itself at import time only if navigator.gpu exists and reads it again in setBackend, so
 * navigator is provided for exactly that window and then restored (Gossamer's own adapter lookup
 * prefers navigator.gpu when it exists, which would bypass --adapter for later Gpu.create calls).
 */
export async function loadTfjsWebgpu(adapterChoice: string): Promise<{ tf: Tf; adapter: string }> {
  tfjsLoaded ??= (async () => {
    const dawn = (await import('webgpu')) as unknown as { create(flags: string[]): GPU };
    const named = !UNNAMED_CHOICES.has(adapterChoice.toLowerCase());
    const instance = dawn.create(named ? [`adapter=${adapterChoice}`] : []);
    dawnInstances.push(instance);
    const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
    try {
      // TF.js is a devDependency (only the benchmarks compare against it): say so when it is absent.
      const tf = await import('@tensorflow/tfjs-core').catch(tfjsMissing);
      await import('@tensorflow/tfjs-backend-webgpu').catch(tfjsMissing);
      if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its WebGPU backend');
      await tf.ready();
      const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
      return { tf, adapter: [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown' };
    } finally {
      if (previous) Object.defineProperty(globalThis, 'navigator', previous);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  })();
  return tfjsLoaded;
}

function tfjsMissing(e: unknown): never {
  const code = (e as { code?: string }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
  throw new Error('the TF.js comparison needs @tensorflow/tfjs-core and @tensorflow/tfjs-backend-webgpu, dev dependencies of the repository: run npm ci (without --omit=dev)');
}

/** Tracks the process's peak resident set size by sampling. */
export class PeakRss {
  peak = process.memoryUsage().rss;
  private readonly timer = setInterval(() => this.sample(), 25);
  constructor() {
    this.timer.unref();
  }
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

