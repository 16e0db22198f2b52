import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The Postgres the tests run on: each suite gets its own database on it. */
export const TEST_DATABASE_URL =
  process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/deliberate';
const BASE_URL = TEST_DATABASE_URL;

/** A fresh database for one test suite, dropped by `drop()`. */
export async function createTestDatabase(suite: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `deliberate_test_${suite.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new URL(BASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
