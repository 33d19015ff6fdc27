// What `gossamer reproduce <name>` loads (a dynamic import in @gossamer/cli's commands/reproduce.ts):
// the reproductions by name, each writing its runs, tables and plots into the output directory.
import { UsageError, type ReproducePlugin } from '@gossamer/cli';
import { reproduceCo2 } from './co2.js';
import { reproduceNetlasso } from './netlasso/reproduce.js';
import { reproduceSingleMerge } from './single-merge.js';

export const reproducePlugin: ReproducePlugin = {
  reproductions: ['single-merge', 'co2', 'netlasso'],
  async reproduce(name, outDir, { quick, adapter, bandwidths }) {
    if (name === 'co2') await reproduceCo2(outDir, quick, adapter, bandwidths);
    else if (name === 'netlasso') await reproduceNetlasso(outDir, quick, adapter);
    else if (name === 'single-merge') await reproduceSingleMerge(outDir, quick, adapter);
    else throw new UsageError(`unknown reproduction "${name}": available: ${reproducePlugin.reproductions.join(', ')}`);
  },
};
