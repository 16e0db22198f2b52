import { createHash } from 'node:crypto';

// Which statements run as named prepared statements. A statement sent unnamed is parsed and planned by Postgres on
// every call; a named one is parsed once per connection and then only bound and executed. Measured on the
// development machine (2 cores, loopback): a keyed UPDATE … RETURNING cost Postgres 76–90 µs of CPU unnamed and
// 42–44 µs named, and the client 67–109 µs against 54–70 µs (docs/benchmarks.md, "Where the CPU goes").
//
// Each name lives in every pooled connection that ran it, for the connection's life, so the set is bounded: the
// first `limit` distinct texts of the process get a name, any later one runs unnamed. Statement texts are fixed
// strings in repositories; one that is built with a varying number of placeholders (a VALUES list) takes one name per
// shape, which the bound keeps finite. Only statements with parameters are named (statementConfig).

/** SQLSTATE 0A000 with this message: a table under a prepared statement changed the shape of its result. */
export const STALE_RESULT_TYPE = 'cached plan must not change result type';

export const DEFAULT_PREPARED_STATEMENT_LIMIT = 256;

export class PreparedStatements {
  private readonly names = new Map<string, string>();
  private readonly refused = new Set<string>();

  constructor(private limit = DEFAULT_PREPARED_STATEMENT_LIMIT) {}

  /** DATABASE_PREPARED_STATEMENTS: set at start, before any statement runs; 0 sends every statement unnamed. */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** The name to prepare `text` under, or undefined to send it unnamed. */
  nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    if (this.names.size >= this.limit || this.refused.has(text)) return undefined;
    const name = `dlb_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    this.names.set(text, name);
    return name;
  }

  /**
   * After an error of a named statement: true when it was the stale result type of a prepared plan (a migration
   * changed a table under it). The text then runs unnamed from now on, so running it again succeeds.
   */
  unprepareIfStale(text: string, error: unknown): boolean {
    const e = error as { code?: unknown; message?: unknown } | null;
    if (e?.code !== '0A000' || !String(e.message).includes(STALE_RESULT_TYPE)) return false;
    this.names.delete(text);
    this.refused.add(text);
    return true;
  }

  get size(): number {
    return this.names.size;
  }
}

/** One registry per process: a connection pool is shared by every Sql over it. */
export const preparedStatements = new PreparedStatements();

/** What node-postgres takes for one statement: named when the registry gives it a name. */
export function statementConfig(
  registry: PreparedStatements,
  text: string,
  values: unknown[] | undefined,
): { text: string; values?: unknown[]; name?: string } {
  // A statement without parameters may be several statements in one text or a one-off (DDL, SET), which the simple
  // query protocol runs and a prepared statement cannot hold: it goes unnamed, and takes no place in the registry.
  const name = values?.length ? registry.nameOf(text) : undefined;
  return name === undefined ? { text, values } : { name, text, values };
}
