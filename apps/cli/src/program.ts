import { Command, CommanderError } from 'commander';
import { CliContext, type GlobalOptions, type Io } from './cli-context';
import { registerAudit } from './commands/audit.command';
import { registerEvents } from './commands/events.command';
import { registerReview } from './commands/review.command';
import { registerSpend } from './commands/spend.command';
import { registerSubmit } from './commands/submit.command';
import { registerTasks } from './commands/tasks.command';
import { CliError, EXIT, EXIT_CODES_HELP } from './exit-codes';

const CONFIG_HELP = `Configuration (each setting from the first that has it):
  --url / --api-key flags
  DELIBERATE_URL / DELIBERATE_API_KEY
  a profile (--profile <name> or DELIBERATE_PROFILE, default "default") of the file $DELIBERATE_CONFIG or
  ~/.config/deliberate/config.json: { "profiles": { "default": { "url": "https://...", "apiKey": "..." } } }`;

export function buildProgram(io: Io): Command {
  const program = new Command('deliberate')
    .description('The command line of Deliberate: submit tasks, follow them, review, audit, spend')
    .option('--url <url>', 'the gateway URL')
    .option('--api-key <key>', 'the API key (prefer DELIBERATE_API_KEY: flags show in the process list)')
    .option('--profile <name>', 'the profile of the config file')
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  export DELIBERATE_URL=http://localhost:3000 DELIBERATE_API_KEY=...
  deliberate submit "What is 2+2?" --wait
  deliberate events <taskId> --follow
  deliberate audit verify-export export.jsonl checkpoints.json

${CONFIG_HELP}

${EXIT_CODES_HELP}`,
    );
  const context = (cmd: Command) => new CliContext(io, cmd.optsWithGlobals<GlobalOptions>());
  registerSubmit(program, context);
  registerTasks(program, context);
  registerEvents(program, context);
  registerReview(program, context);
  registerSpend(program, context);
  registerAudit(program, context);
  // Every subcommand: usage errors are exit 2 (not commander's 1), its output goes where the program's goes.
  const configure = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) });
      sub.showHelpAfterError('(add --help for usage)');
      configure(sub);
    }
  };
  configure(program);
  return program;
}

/** Runs one invocation; resolves to its exit code. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too; commander has already printed what it had to say.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // With --json a script reads the error as JSON too: one line on stderr, stdout left empty.
    const json = jsonRequested(argv);
    if (e instanceof CliError) {
      if (json) io.err(`${JSON.stringify({ error: { message: e.message, exitCode: e.exitCode } })}\n`);
      else if (e.message) io.err(`deliberate: ${e.message}\n`);
      return e.exitCode;
    }
    const message = `unexpected error: ${(e as Error).stack ?? String(e)}`;
    if (json) io.err(`${JSON.stringify({ error: { message, exitCode: EXIT.unexpected } })}\n`);
    else io.err(`deliberate: ${message}\n`);
    return EXIT.unexpected;
  }
}

/** Whether the command line asks for --json (an argument after `--` is an operand, not the option). */
function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}
