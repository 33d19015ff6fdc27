import { runConfigJsonSchema } from '@gossamer/worker';
import type { Command } from '../command.js';

/** `gossamer schema > run.schema.json`: the run config's JSON Schema, for editors and other tools. */
export const schema: Command = {
  name: 'schema',
  summary: 'print the JSON Schema of run config files (gossamer schema > run.schema.json), for editors',
  usage: '[> run.schema.json]',
  options: {},
  optionHelp: {},
  async run() {
    // The same zod schema `train`, `worker` and `--resume` check every config with.
    process.stdout.write(`${JSON.stringify({ title: 'Gossamer run config', ...runConfigJsonSchema() }, null, 2)}\n`);
    return 0;
  },
};
