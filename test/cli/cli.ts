// Runs the built `gossamer` CLI as a user would: a separate node process, real stdout/stderr/exit code.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliBin = join(repoRoot, 'packages/cli/dist/bin.js');

// Fail the whole file at once, with the fix, rather than every test with ENOENT.
if (!existsSync(cliBin)) {
  throw new Error(`${cliBin} is missing: build the workspace first (npx turbo run build; npm test builds before running vitest)`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** The whole environment of the child (default: this process's, without GOSSAMER_LOG_* settings). */
  env?: NodeJS.ProcessEnv;
  /** The node executable (default: this one, by absolute path). */
  node?: string;
  cwd?: string;
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env = options.env ?? { ...process.env, GOSSAMER_LOG_FORMAT: undefined, GOSSAMER_LOG_LEVEL: undefined };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.node ?? process.execPath, [cliBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 100_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** `result` as text for assertion messages: what the user would have seen. */
export function shown(result: CliResult): string {
  return `exit ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
