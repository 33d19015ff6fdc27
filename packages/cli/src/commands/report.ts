import { join, resolve } from 'node:path';
import { UsageError, type Command } from '../command.js';

export const report: Command = {
  name: 'report',
  summary: "turn a run's metrics into SVG plots (<run>/plots/) and a markdown summary (<run>/report.md)",
  usage: '<run-dir> [--json]',
  options: {
    json: { type: 'boolean', default: false },
  },
  optionHelp: {
    json: 'print what was written as one JSON object on stdout instead of text',
  },
  async run(values, positionals, { log }) {
    if (positionals.length === 0) throw new UsageError('which run? Give its directory, e.g. gossamer report runs/<run>');
    if (positionals.length > 1) throw new UsageError(`one run directory at a time, got ${positionals.length}: ${positionals.join(' ')}`);
    const runDir = resolve(positionals[0]);
    // Loaded on use: Vega takes half a second to import, which every other command's start would pay.
    const { RunDirError, writeReport } = await import('../report/index.js');
    let result;
    try {
      result = await writeReport(runDir);
    } catch (e) {
      if (!(e instanceof RunDirError)) throw e;
      log.error(e.message, { runDir });
      return 1;
    }
    for (const warning of result.warnings) log.warn(warning, { runDir });
    for (const plot of result.plots) log.debug('wrote plot', { path: join(runDir, plot.path), panels: plot.panels, series: plot.series });
    if (values.json === true) {
      console.log(JSON.stringify(result));
    } else {
      const width = Math.max(0, ...result.plots.map((p) => p.path.length));
      console.log(
        [
          `report of ${result.events} events: ${result.report}`,
          ...result.plots.map((p) => `  ${p.path.padEnd(width)}  ${p.title}`),
        ].join('\n'),
      );
    }
    return 0;
  },
};
