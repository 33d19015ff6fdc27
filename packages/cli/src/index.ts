// The public surface of @gossamer/cli for packages built on it (the reproductions in
// @gossamer/experiments) and for tests: commands, launching runs, the netlasso worker's output, and
// the shared table / plot helpers. Nothing here imports @gossamer/experiments (dependencies point
// one way); `gossamer reproduce` reaches it at run time (commands/reproduce.ts).
export { type Command, type CommandContext, UsageError, helpText } from './command.js';
export { launchDistributed, formatRunSummary, type LaunchOptions, type LaunchSummary } from './launch.js';
export { runChildren, type ChildFailure, type ChildSpec } from './processes.js';
export { runNetlassoProcesses, type NetlassoProcessRun } from './netlasso-processes.js';
export { decodeFloat32, decodeInt32, netlassoOptionsFrom, parseLambdas, type NetlassoReportRecord, type NetlassoWorkerOutput } from './commands/netlasso-worker.js';
export { runConfigFrom } from './commands/train.js';
export { markdownTable, percent, percentOf, type MarkdownTableOptions } from './format.js';
export { svgToPng, writePlot } from './report/png.js';
export { EXPERIMENTS_PACKAGE, loadReproducePlugin, type ReproducePlugin, type ReproduceOptions } from './commands/reproduce.js';
