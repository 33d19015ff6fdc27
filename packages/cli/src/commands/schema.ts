import { runConfigJsonSchema } from '@gossamer/worker';
import type { Command } from '../command.js';
import { problemSpecJsonSchema } from '../problem-schema.js';

/** `gossamer schema > run.schema.json`: the run config's JSON Schema, for editors and other tools. */
export const schema: Command = {
  name: 'schema',
  summary: 'print the JSON Schema of run config files (gossamer schema > run.schema.json), for editors',
  usage: '[--problem] [> run.schema.json]',
  options: {
    problem: { type: 'boolean', default: false },
  },
  optionHelp: {
    problem: 'the schema of Network Lasso problem specs (train --algo netlasso --problem) instead',
  },
  async run(values) {
    // The same zod schemas `train`, `worker` and `netlasso-worker` check every config and spec with.
    const [title, jsonSchema] = values.problem === true ? ['Gossamer Network Lasso problem spec', problemSpecJsonSchema()] : ['Gossamer run config', runConfigJsonSchema()];
    process.stdout.write(`${JSON.stringify({ title, ...jsonSchema }, null, 2)}\n`);
    return 0;
  },
};
