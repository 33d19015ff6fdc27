import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { Gpu, findSwiftShaderIcd } from '@gossamer/gpu';
import type { Command } from '../command.js';

/** ok: fine; warn: missing but not needed here (shown, exit code unaffected); fail: must be fixed. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  /** What was found (a version, a path, an adapter) or what is wrong. */
  detail: string;
  /** How to fix it, for warn and fail. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  problems: number;
  checks: DoctorCheck[];
}

/** The oldest Node.js the workspace's `engines` accepts. */
const MIN_NODE: readonly [number, number] = [20, 19];

const NATS_FIX =
  'install it: sudo apt-get install nats-server (Debian/Ubuntu), brew install nats-server (macOS), or a release from ' +
  'https://github.com/nats-io/nats-server/releases; or set GOSSAMER_NATS_SERVER to its path. Runs given --nats <url> use that server instead.';
const ICD_FIX = 'sudo apt-get install chromium libvulkan1 (Debian ships SwiftShader, the CPU Vulkan driver, with Chromium), or set GOSSAMER_SWIFTSHADER_ICD to its vk_swiftshader_icd.json';

/** `name` resolved as the nats-server launcher does: a path as given, else the first executable on PATH. */
export function findExecutable(name: string, pathVariable: string | undefined): string | undefined {
  const executable = (path: string): boolean => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function checkNode(version = process.versions.node): DoctorCheck {
  const [major, minor] = version.split('.').map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: 'node', status: 'ok', detail: `v${version}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `v${version} is too old: Gossamer needs Node.js ${MIN_NODE.join('.')} or newer`,
        fix: `install Node.js ${MIN_NODE[0]} LTS or newer (https://nodejs.org, or nvm install ${MIN_NODE[0]})`,
      };
}

export function checkNatsServer(env: NodeJS.ProcessEnv = process.env): DoctorCheck {
  const wanted = env.GOSSAMER_NATS_SERVER ?? 'nats-server';
  const path = findExecutable(wanted, env.PATH);
  if (!path) {
    const where = wanted.includes('/') ? `${wanted} (from GOSSAMER_NATS_SERVER) is not an executable` : 'not found on PATH';
    return { name: 'nats-server', status: 'fail', detail: where, fix: NATS_FIX };
  }
  let output: string;
  try {
    output = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return { name: 'nats-server', status: 'fail', detail: `${path} did not run: ${(e as Error).message.split('\n')[0]}`, fix: NATS_FIX };
  }
  const version = /v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!version) return { name: 'nats-server', status: 'warn', detail: `${path}: unrecognised version output "${output}"` };
  // Message headers, which the NATS client relies on, arrived in nats-server 2.2.
  if (Number(version[1]) < 2 || (Number(version[1]) === 2 && Number(version[2]) < 2)) {
    return { name: 'nats-server', status: 'fail', detail: `${path}: v${version.slice(1).join('.')} is too old (2.2 or newer needed)`, fix: NATS_FIX };
  }
  return { name: 'nats-server', status: 'ok', detail: `v${version.slice(1).join('.')} (${path})` };
}

/** Version of an installed npm package, or undefined when it cannot be found. */
function packageVersion(name: string): string | undefined {
  try {
    const file = createRequire(import.meta.url).resolve(`${name}/package.json`);
    const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The WebGPU adapter, then SwiftShader's ICD (required only when there is no hardware adapter). */
async function checkWebGpu(adapter: string | undefined): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const dawn = packageVersion('webgpu');
  let hardware = false;
  try {
    const gpu = await Gpu.create(adapter ? { adapter } : {});
    hardware = !gpu.isSoftware;
    checks.push({
      name: 'webgpu',
      status: 'ok',
      detail: `${gpu.adapterDescription}${gpu.isSoftware ? ' [software: exact but slow]' : ''}${dawn ? `; webgpu (Dawn) ${dawn}` : ''}`,
    });
    checks.push({
      name: 'limits',
      status: 'ok',
      detail:
        `workgroup storage ${gpu.limits.maxComputeWorkgroupStorageSize} B, max buffer ${(gpu.limits.maxBufferSize / 2 ** 20).toFixed(0)} MiB, ` +
        `features: ${[...gpu.features].join(', ') || 'none'}`,
    });
    gpu.destroy();
  } catch (e) {
    // GpuUnavailableError messages end with a "How to fix:" section: keep it as the fix.
    const [detail, fix] = (e as Error).message.split(/\nHow to fix:\n/);
    checks.push({
      name: 'webgpu',
      status: 'fail',
      detail: detail.trim(),
      fix: fix?.trim() ?? `${ICD_FIX}; or install your GPU's Vulkan driver and libvulkan1`,
    });
  }
  const icd = await findSwiftShaderIcd();
  if (icd) checks.push({ name: 'swiftshader', status: 'ok', detail: `Vulkan ICD ${icd}` });
  else if (hardware) checks.push({ name: 'swiftshader', status: 'warn', detail: 'not installed; needed only on machines without a GPU (CI, containers)', fix: ICD_FIX });
  else checks.push({ name: 'swiftshader', status: 'fail', detail: 'not installed, and there is no hardware WebGPU adapter to use instead', fix: ICD_FIX });
  return checks;
}

export async function runDoctor(adapter: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [checkNode(), checkNatsServer(env), ...(await checkWebGpu(adapter))];
  const problems = checks.filter((c) => c.status === 'fail').length;
  return { ok: problems === 0, problems, checks };
}

function formatText(report: DoctorReport): string {
  const label: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
  const lines = report.checks.flatMap((c) => [
    `${label[c.status]} ${c.name.padEnd(12)} ${c.detail.replace(/\n/g, '\n                  ')}`,
    ...(c.status !== 'ok' && c.fix ? [`     ${''.padEnd(12)} fix: ${c.fix.replace(/\n/g, '\n                  ')}`] : []),
  ]);
  lines.push(report.ok ? 'everything needed is in place' : `${report.problems} problem(s): see the fixes above`);
  return lines.join('\n');
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check Node.js, nats-server, the WebGPU adapter and SwiftShader, and say what to fix',
  usage: '[--adapter <choice>] [--json]',
  options: {
    adapter: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  optionHelp: {
    adapter: 'adapter to try: auto, hardware, swiftshader, or part of an adapter name (see gossamer selfcheck --help)',
    json: 'print the checks as one JSON object ({ok, problems, checks: [{name, status, detail, fix}]})',
  },
  async run(values, _positionals, { log }) {
    const report = await runDoctor(typeof values.adapter === 'string' ? values.adapter : undefined);
    for (const c of report.checks) log.debug('check', { name: c.name, status: c.status, detail: c.detail });
    console.log(values.json === true ? JSON.stringify(report) : formatText(report));
    return report.ok ? 0 : 1;
  },
};
