#!/usr/bin/env node
// Runs the `netlasso-worker` command alone (what `gossamer netlasso-worker` runs): the process that
// `gossamer reproduce netlasso` spawns per worker, independent of bin.ts's command table.
import { netlassoWorker } from './commands/netlasso-worker.js';
import { runCommand } from './run-command.js';

process.exitCode = await runCommand(netlassoWorker, process.argv.slice(2));
