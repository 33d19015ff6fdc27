#!/usr/bin/env node
import { helpText, parse, UsageError, type Command } from './command.js';
import { bench } from './commands/bench.js';
import { doctor } from './commands/doctor.js';
import { report } from './commands/report.js';
import { selfcheck } from './commands/selfcheck.js';
import { train } from './commands/train.js';
import { worker } from './commands/worker.js';
import { netlassoWorker } from './commands/netlasso-worker.js';
import { reproduce } from './commands/reproduce.js';

const commands: Command[] = [train, worker, netlassoWorker, reproduce, report, selfcheck, doctor, bench];

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
  let parsed;
  try {
    parsed = parse(cmd, rest);
  } catch (e) {
    console.error(`gossamer ${cmd.name}: ${(e as Error).message}\nRun "gossamer ${cmd.name} --help" for the options.`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(helpText(cmd));
    return 0;
  }
  try {
    return await cmd.run(parsed.values, parsed.positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`gossamer ${cmd.name}: ${e.message}\nRun "gossamer ${cmd.name} --help" for the options.`);
      return 2;
    }
    console.error(`gossamer ${cmd.name}: ${(e as Error).message}`);
    if (process.env.GOSSAMER_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
