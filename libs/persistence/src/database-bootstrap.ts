import { Client } from 'pg';

// The project's database and each service's schema are created on first start, so a fresh machine needs
// nothing but a running Postgres. Racing services are fine: "already exists" is not an error here.
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DATABASE_URL names no database: ${redact(databaseUrl)}`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  // A connection lost between statements (Postgres restarting) fails the next one instead of ending the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`cannot reach Postgres at ${redact(databaseUrl)}: ${(e as Error).message}`);
  }
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // duplicate_database: created by a concurrent start
      });
    }
  } finally {
    await client.end();
  }
}

export async function ensureSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // A service's own role may own its schema without the right to create schemas (deploy/postgres/roles.sql):
    // CREATE SCHEMA IF NOT EXISTS would still be refused, so it is only tried when the schema is missing.
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount) return;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`).catch((e: { code?: string }) => {
      if (e.code !== '23505' && e.code !== '42P06') throw e;
    });
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function redact(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}
