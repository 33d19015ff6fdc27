import { execFileSync } from 'node:child_process';
import { Gpu, findSwiftShaderIcd } from '@gossamer/gpu';
import type { Command } from '../command.js';

function natsServerVersion(): string | null {
  try {
    return execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check the WebGPU adapter, nats-server and versions, and say what to fix',
  usage: '[--adapter <choice>]',
  options: { adapter: { type: 'string' } },
  optionHelp: { adapter: 'adapter to try (see gossamer selfcheck --help)' },
  async run(values) {
    let problems = 0;
    const line = (ok: boolean, what: string, detail: string) => {
      if (!ok) problems++;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${what.padEnd(14)} ${detail}`);
    };
    const major = Number(process.versions.node.split('.')[0]);
    line(major >= 20, 'node', `${process.version}${major >= 20 ? '' : ' — Gossamer needs Node.js 20 or newer'}`);
    const nats = natsServerVersion();
    line(nats !== null, 'nats-server', nats ?? 'not found on PATH — install it: sudo apt-get install -y nats-server (or get it from nats.io), or pass --nats URL to use an existing server');
    const icd = await findSwiftShaderIcd();
    console.log(`info ${'swiftshader'.padEnd(14)} ${icd ?? 'not installed (sudo apt-get install -y chromium libvulkan1) — needed only without a GPU'}`);
    try {
      const gpu = await Gpu.create({ adapter: values.adapter as string | undefined });
      line(true, 'webgpu', `${gpu.adapterDescription}${gpu.isSoftware ? ' [software: exact but slow]' : ''}`);
      console.log(`info ${'limits'.padEnd(14)} workgroup storage ${gpu.limits.maxComputeWorkgroupStorageSize} B, max buffer ${(gpu.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB, features: ${[...gpu.features].join(', ') || 'none'}`);
      gpu.destroy();
    } catch (e) {
      line(false, 'webgpu', (e as Error).message.replace(/\n/g, '\n     '));
    }
    console.log(problems === 0 ? 'everything looks fine' : `${problems} problem(s): see the fixes above`);
    return problems === 0 ? 0 : 1;
  },
};
