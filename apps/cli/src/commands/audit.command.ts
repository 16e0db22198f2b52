import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { CliContext } from '../cli-context';
import { CliError, EXIT, usageError } from '../exit-codes';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      EXIT.usage,
    );
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAudit(program: Command, context: (cmd: Command) => CliContext): void {
  const audit = program.command('audit').description('Audit trail tools');
  audit
    .command('verify-export')
    .description(
      "Verify an audit export offline (no network): recompute each chain's hashes from its lines and check the signed checkpoints",
    )
    .argument(
      '<export.jsonl>',
      'the JSON Lines of GET /v1/audit/export (unfiltered: every record of its period)',
    )
    .argument('<checkpoints.json>', 'the answer of GET /v1/audit/checkpoints')
    .option(
      '--public-key <pem-file>',
      'trust only this Ed25519 public key (repeatable), not the keys the checkpoints file lists',
      collect,
    )
    .addHelpText(
      'after',
      `
Examples:
  curl -H "Authorization: Bearer $KEY" "$URL/v1/audit/export?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z" > export.jsonl
  curl -H "Authorization: Bearer $KEY" "$URL/v1/audit/checkpoints" > checkpoints.json
  deliberate audit verify-export export.jsonl checkpoints.json
  deliberate audit verify-export export.jsonl checkpoints.json --public-key audit-signing.pub.pem --json

Lines may be in any order; each chain is checked in seq order, a missing seq is a gap. The first problem is named by
its line, chain and seq, with the expected and found hashes. Exit 6 when anything is wrong.`,
    )
    .action(
      async (exportPath: string, checkpointsPath: string, flags: { publicKey?: string[] }, cmd: Command) => {
        // Loaded here: the other commands need neither the hashing library nor node:crypto.
        const { formatVerifyReport, trustedKey, verifyExport } = await import('../verify/verify-export.js');
        const ctx = context(cmd);
        const exportText = readText(exportPath, 'the export');
        const checkpointsText = readText(checkpointsPath, 'the checkpoints file');
        let trusted;
        if (flags.publicKey) {
          const problems: string[] = [];
          trusted = flags.publicKey.flatMap((path) => {
            try {
              return [trustedKey(readText(path, 'the public key'), path)];
            } catch (e) {
              problems.push((e as Error).message);
              return [];
            }
          });
          if (problems.length) throw usageError(problems);
        }
        const report = verifyExport(exportText, checkpointsText, trusted);
        if (ctx.json) ctx.printJson(report);
        else ctx.print(formatVerifyReport(report));
        if (!report.ok) throw new CliError('', EXIT.verifyFailed);
      },
    );
}
