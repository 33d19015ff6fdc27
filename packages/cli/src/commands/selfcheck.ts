import { Gpu } from '@gossamer/gpu';
import { selfChecks } from '@gossamer/kernels';
import type { Command } from '../command.js';

export const selfcheck: Command = {
  name: 'selfcheck',
  summary: 'run every WGSL kernel on this machine\'s WebGPU adapter and compare it with its float64 reference',
  usage: '[--adapter auto|hardware|swiftshader|<name>] [--json]',
  options: {
    adapter: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  optionHelp: {
    adapter: 'WebGPU adapter: auto (GPU, else SwiftShader), hardware, swiftshader, or part of an adapter name',
    json: 'print one JSON object per check instead of a table',
  },
  async run(values) {
    const gpu = await Gpu.create({ adapter: values.adapter as string | undefined });
    let failures = 0;
    try {
      if (!values.json) {
        console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' [software]' : ''}`);
        console.log(`${'kernel'.padEnd(42)} ${'max error'.padStart(10)} ${'tolerance'.padStart(10)}  result`);
      }
      for (const check of selfChecks) {
        const t0 = performance.now();
        const r = await check.run(gpu);
        const ms = performance.now() - t0;
        const ok = r.maxError <= r.tolerance;
        if (!ok) failures++;
        if (values.json) console.log(JSON.stringify({ kernel: check.name, ...r, ok, ms }));
        else console.log(`${check.name.padEnd(42)} ${r.maxError.toExponential(2).padStart(10)} ${r.tolerance.toExponential(2).padStart(10)}  ${ok ? 'ok' : 'FAIL'}`);
      }
      await gpu.sync();
    } finally {
      gpu.destroy();
    }
    if (!values.json) console.log(failures === 0 ? `all ${selfChecks.length} kernel checks passed` : `${failures} kernel check(s) FAILED`);
    return failures === 0 ? 0 : 1;
  },
};
