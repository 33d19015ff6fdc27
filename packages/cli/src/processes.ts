// Runs the worker processes of a local run: each child's stdout lines go to a callback, the last
// stderr lines are kept for the error message, and the first child to fail ends the run (the others
// would only wait for the failed peers until they time out). Children still running are terminated.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from './log.js';

export interface ChildSpec {
  /** Names the child in errors and debug output, e.g. "w0,w1". */
  label: string;
  /** Arguments after the node executable. */
  args: string[];
}

/** Dawn's warning about a Vulkan ICD it cannot use: noise in every child's stderr on CPU machines. */
export const VULKAN_NOISE = /Vulkan|While initializing|InitializeImpl|PhysicalDeviceVk/;

/**
 * With `log`, children log in its format and at its level (GOSSAMER_LOG_* in their environment), and
 * at debug level their stderr lines are passed on to ours (text lines prefixed with the child's label).
 */
export async function runChildren(children: readonly ChildSpec[], onLine: (index: number, line: string) => void, options: { log?: Logger } = {}): Promise<void> {
  const { log } = options;
  const env = log ? { ...process.env, GOSSAMER_LOG_FORMAT: log.format, GOSSAMER_LOG_LEVEL: log.level } : process.env;
  const forward = process.env.GOSSAMER_DEBUG !== undefined || log?.enabled('debug') === true;
  const running: ChildProcess[] = [];
  try {
    const exits = children.map((spec, index) => {
      const child = spawn(process.execPath, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
      running.push(child);
      const stderrTail: string[] = [];
      createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
        const noise = VULKAN_NOISE.test(line);
        // Dawn's Vulkan noise is passed on only under GOSSAMER_DEBUG, and never kept for errors.
        if (forward && (!noise || process.env.GOSSAMER_DEBUG)) process.stderr.write(line.startsWith('{') ? `${line}\n` : `[${spec.label}] ${line}\n`);
        if (noise) return;
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
      });
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => onLine(index, line));
      return new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          if (code === 0) resolve();
          else {
            const tail = stderrTail.slice(-12).join('\n  ');
            reject(new Error(`worker process ${spec.label} exited with ${signal ?? `code ${code}`}${tail ? `:\n  ${tail}` : ''}`));
          }
        });
      });
    });
    await Promise.race([Promise.all(exits), ...exits.map((e) => e.catch((error: unknown) => Promise.reject(error)))]);
    await Promise.all(exits);
  } finally {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}
