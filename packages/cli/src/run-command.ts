// Runs one command from its argv: parses the flags (its own plus the common logging flags), prints
// --help, builds the logger, and turns errors into exit codes with messages that say what to fix.
// Shared by bin.ts and the stand-alone netlasso-worker entry point.
import { helpText, parse, UsageError, type Command } from './command.js';
import { loggerFromFlags, type Logger } from './log.js';

/** Exit codes: 0 ok, 1 the command failed, 2 bad usage (a command may return its own, e.g. 130). */
export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  const usageHint = `Run "gossamer ${cmd.name} --help" for the options.`;
  let parsed;
  let log: Logger;
  try {
    parsed = parse(cmd, argv); // unknown flags, missing values
    log = loggerFromFlags(parsed.values);
  } catch (e) {
    console.error(`gossamer ${cmd.name}: ${(e as Error).message}\n${usageHint}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(helpText(cmd));
    return 0;
  }
  try {
    return await cmd.run(parsed.values, parsed.positionals, { log });
  } catch (e) {
    const error = e as Error;
    const usage = e instanceof UsageError;
    // Text keeps the familiar `gossamer <cmd>: message` line; JSON gets one record with the fields.
    if (log.format === 'json') {
      log.error(error.message, { command: cmd.name, kind: usage ? 'usage' : error.name, stack: process.env.GOSSAMER_DEBUG ? error.stack : undefined });
    } else {
      console.error(`gossamer ${cmd.name}: ${error.message}${usage ? `\n${usageHint}` : ''}`);
      if (process.env.GOSSAMER_DEBUG) console.error(error.stack);
    }
    return usage ? 2 : 1;
  }
}
