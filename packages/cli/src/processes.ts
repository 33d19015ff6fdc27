// Runs the worker processes of a local run: each child's stdout lines go to a callback and the last
// stderr lines are kept for the error message. A child that fails is reported and, by default, the
// run goes on (the survivors agree on a new membership view and continue); with onFailure 'abort'
// the first failure stops every child. A child that does not stop on SIGTERM within 5 s is killed,
// and no child outlives the launcher.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from './log.js';

export interface ChildSpec {
  /** Names the child in errors and debug output, e.g. "w0,w1". */
  label: string;
  /** Arguments after the node executable. */
  args: string[];
}

/** A child that exited with a non-zero code or a signal. */
export interface ChildFailure {
  index: number;
  label: string;
  /** 'code 1' or the signal's name. */
  exit: string;
  /** The last lines of its stderr (Dawn's noise left out). */
  stderrTail: string;
}

export interface RunChildrenOptions {
  log?: Logger;
  /** 'continue' (default): report a failed child and wait for the others; 'abort': stop them all. */
  onFailure?: 'continue' | 'abort';
  /** Called as each child fails (the run may go on). */
  onChildFailure?: (failure: ChildFailure) => void;
  /** Stops every child (SIGTERM, then SIGKILL after killAfterMs). */
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL, ms (default 5000). */
  killAfterMs?: number;
}

/**
 * Dawn's and the Vulkan loader's warnings about an ICD they cannot use (e.g. "Warning:
 * vkCreateInstance: Found no drivers!"): noise in every child's stderr on CPU machines.
 */
export const VULKAN_NOISE = /Vulkan|vkCreateInstance|While initializing|InitializeImpl|PhysicalDeviceVk/;

export class ChildFailedError extends Error {
  constructor(readonly failures: readonly ChildFailure[]) {
    super(failures.map((f) => `worker process ${f.label} exited with ${f.exit}${f.stderrTail ? `:\n  ${f.stderrTail}` : ''}`).join('\n'));
    this.name = 'ChildFailedError';
  }
}

/**
 * With `log`, children log in its format and at its level (GOSSAMER_LOG_* in their environment), and
 * at debug level their stderr lines are passed on to ours (text lines prefixed with the child's label).
 * Resolves with the failures when every child has exited (onFailure 'continue' and at least one
 * child succeeded); rejects with ChildFailedError when every child failed or, under 'abort', at the
 * first failure once all have stopped.
 */
export async function runChildren(children: readonly ChildSpec[], onLine: (index: number, line: string) => void, options: RunChildrenOptions = {}): Promise<ChildFailure[]> {
  const { log } = options;
  const env = log ? { ...process.env, GOSSAMER_LOG_FORMAT: log.format, GOSSAMER_LOG_LEVEL: log.level } : process.env;
  const forward = process.env.GOSSAMER_DEBUG !== undefined || log?.enabled('debug') === true;
  const killAfterMs = options.killAfterMs ?? 5000;
  const running = new Set<ChildProcess>();
  const failures: ChildFailure[] = [];
  let stopping = false;
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const c of running) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of running) c.kill('SIGKILL');
    }, killAfterMs);
    timer.unref();
  };
  // The launcher itself exiting (an uncaught error, process.exit) takes its children with it.
  const killOnExit = () => {
    for (const c of running) c.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const onAbort = () => stopAll();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const exits = children.map(
      (spec, index) =>
        new Promise<void>((resolve) => {
          const child = spawn(process.execPath, spec.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
          running.add(child);
          const stderrTail: string[] = [];
          createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
            const noise = VULKAN_NOISE.test(line);
            // Dawn's Vulkan noise is passed on only under GOSSAMER_DEBUG, and never kept for errors.
            if (forward && (!noise || process.env.GOSSAMER_DEBUG)) process.stderr.write(line.startsWith('{') ? `${line}\n` : `[${spec.label}] ${line}\n`);
            if (noise || line.trim() === '') return;
            stderrTail.push(line);
            if (stderrTail.length > 20) stderrTail.shift();
          });
          const stdout = createInterface({ input: child.stdout as NodeJS.ReadableStream });
          stdout.on('line', (line) => onLine(index, line));
          const fail = (exit: string) => {
            const failure: ChildFailure = { index, label: spec.label, exit, stderrTail: stderrTail.slice(-12).join('\n  ') };
            failures.push(failure);
            options.onChildFailure?.(failure);
            if (options.onFailure === 'abort') stopAll();
          };
          child.on('error', (e) => {
            running.delete(child);
            fail(`an error (${e.message})`);
            resolve();
          });
          // 'close', not 'exit': the child's stdout has been read to the end by then.
          child.on('close', (code, signal) => {
            running.delete(child);
            // A child stopped by us (abort, Ctrl-C) is not one more failure.
            if (code !== 0 && !stopping) fail(signal ?? `code ${code}`);
            resolve();
          });
        }),
    );
    await Promise.all(exits);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    process.off('exit', killOnExit);
    killOnExit();
  }
  const aborted = options.onFailure === 'abort' && failures.length > 0;
  if (aborted || (failures.length > 0 && failures.length === children.length)) throw new ChildFailedError(failures);
  return failures;
}
