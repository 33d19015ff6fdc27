import { parseArgs, type ParseArgsConfig } from 'node:util';
import { logOptionHelp, logOptions, type Logger } from './log.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** What every command gets besides its flags. */
export interface CommandContext {
  /** Structured logs on stderr, as --log-format/--log-level (or GOSSAMER_LOG_*) ask. */
  log: Logger;
}

export interface Command {
  name: string;
  summary: string;
  /** Usage line(s) after `gossamer <name>`. */
  usage: string;
  options: Options;
  /** Help text for each option, by option name. */
  optionHelp: Record<string, string>;
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[], context: CommandContext): Promise<number>;
}

/** Thrown for bad command-line input: printed without a stack, with the command's help hint. */
export class UsageError extends Error {}

export function helpText(cmd: Command): string {
  const lines = [`gossamer ${cmd.name} — ${cmd.summary}`, '', `Usage: gossamer ${cmd.name} ${cmd.usage}`, '', 'Options:'];
  for (const [name, spec] of Object.entries(cmd.options)) {
    const flag = `--${name}${spec.type === 'string' ? ' <value>' : ''}${spec.short ? `, -${spec.short}` : ''}`;
    const dflt = spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    lines.push(`  ${flag.padEnd(26)} ${cmd.optionHelp[name] ?? ''}${dflt}`);
  }
  for (const [name, help] of Object.entries(logOptionHelp)) lines.push(`  ${`--${name} <value>`.padEnd(26)} ${help}`);
  lines.push(`  ${'--help, -h'.padEnd(26)} show this help`);
  return lines.join('\n');
}

export function parse(cmd: Command, argv: string[]) {
  return parseArgs({
    args: argv,
    // The logging flags are common to every command.
    options: { ...cmd.options, ...logOptions, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
}
