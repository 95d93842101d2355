// The bookiji command line. Each command group lives in its own file under
// commands/ and registers itself here. This is the one place where errors
// become exit codes (SPEC §2): 0 success, 1 failure or violation, 2 usage.

import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { BookijiError, exitCodeFor, toBookijiError } from '../errors.js';
import { invokedGroup, registerCommands } from './commands/groups.js';
import { printError } from './output.js';
import { ReportedFailure } from './reportedFailure.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/** The program with the command group `argv` invokes, or with every command when it names none. */
export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command();
  program
    .name('bookiji')
    .description("A booking engine that cannot betray a vendor's calendar, on PostgreSQL, and the tools that prove it.")
    .version(version)
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const group = invokedGroup(argv);
  if (group) (await group.load())(program);
  else await registerCommands(program);
  // Every subcommand throws instead of exiting, so main() decides the code.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof ReportedFailure) return error.exitCode;
    if (error instanceof CommanderError) {
      // Help and version are successes; every other commander error is usage.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      if (wantsJson(argv)) printError(new BookijiError('USAGE_ERROR', error.message.replace(/^error: /, '')), { json: true, debug: false });
      return 2;
    }
    const bookijiError = error instanceof BookijiError ? error : toBookijiError(error);
    printError(bookijiError, { json: wantsJson(argv), debug: argv.includes('--debug') });
    return exitCodeFor(bookijiError);
  }
}

// A reader that stops early (`bookiji … | head`) closes the pipe: that is not
// an error of ours, so leave quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// Set the exit code and let Node finish writing output before it exits.
process.exitCode = await main();
