#!/usr/bin/env node
// Runs the `netlasso-worker` command alone (what `gossamer netlasso-worker` runs): the process that
// `gossamer reproduce netlasso` spawns per worker, independent of bin.ts's command table.
import { helpText, parse, UsageError } from './command.js';
import { netlassoWorker } from './commands/netlasso-worker.js';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(netlassoWorker, argv);
  } catch (e) {
    console.error(`gossamer netlasso-worker: ${(e as Error).message}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(helpText(netlassoWorker));
    return 0;
  }
  try {
    return await netlassoWorker.run(parsed.values, parsed.positionals);
  } catch (e) {
    console.error(`gossamer netlasso-worker: ${(e as Error).message}`);
    if (e instanceof UsageError) return 2;
    if (process.env.GOSSAMER_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
