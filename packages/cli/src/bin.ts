#!/usr/bin/env node
import type { Command } from './command.js';
import { runCommand } from './run-command.js';
import { bench } from './commands/bench.js';
import { doctor } from './commands/doctor.js';
import { report } from './commands/report.js';
import { selfcheck } from './commands/selfcheck.js';
import { train } from './commands/train.js';
import { worker } from './commands/worker.js';
import { netlassoWorker } from './commands/netlasso-worker.js';
import { reproduce } from './commands/reproduce.js';
import { schema } from './commands/schema.js';

const commands: Command[] = [train, worker, netlassoWorker, reproduce, report, selfcheck, doctor, bench, schema];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'gossamer — decentralized training on WebGPU workers that talk over NATS',
    '',
    'Usage: gossamer <command> [options]     (gossamer <command> --help for its options)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`gossamer: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  return runCommand(cmd, rest);
}

process.exitCode = await main(process.argv.slice(2));
// Everything a command does is awaited by now. Whatever is still scheduled (a socket's last flush, a
// device callback after a failure) must not keep the process alive: a worker that hangs on its way
// out holds up the launcher and its run.
setTimeout(() => process.exit(), 5000).unref();
