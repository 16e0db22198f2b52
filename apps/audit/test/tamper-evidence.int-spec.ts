jest.setTimeout(120_000);

import { CheckpointService } from '@deliberate/audit/checkpoints/checkpoint.service';
import type { StoredRecordRow } from '@deliberate/audit/chain/chain.repository';
import { contentHash, recordHash, statementBytes } from '@deliberate/audit-chain';
import type { VerifyReport } from '@deliberate/contracts';
import { ChainVerifier } from '@deliberate/audit/verify/chain-verifier';
import { pollUntil, scrapeMetrics } from '@deliberate/testing';
import { randomBytes, verify as verifySignature } from 'node:crypto';
import { Client } from 'pg';
import { type AuditHarness, auditHttp, auditor, startAudit, storedCount } from './audit-harness';
import { publishTask } from './fixtures';

// Rows changed, deleted or reordered directly in SQL by a superuser (with the append-only trigger switched off)
// are found by verify, which names the first broken link; the service's own role cannot change a row at all.

let h: AuditHarness;

beforeAll(async () => {
  h = await startAudit('audit-tamper');
});

afterAll(async () => {
  await h?.close();
});

/** Stores two tasks (ten records) for a tenant of its own. */
async function seedChain(tenantId: string): Promise<void> {
  await publishTask(h, tenantId);
  await publishTask(h, tenantId);
  await pollUntil(
    () => storedCount(h, tenantId),
    (n) => n === 10,
    { what: `ten records for ${tenantId}` },
  );
}

/** SQL as a superuser with user triggers off: the append-only trigger does not fire. */
async function asSuperuserWithoutTriggers(sql: string, params: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: h.databaseUrl, options: '-c search_path=audit' });
  await client.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const verify = async (tenantId: string, query = '') =>
  (await auditHttp<VerifyReport>(h, `/v1/audit/verify?tenantId=${tenantId}${query}`)).body;

const eventIdAt = async (tenantId: string, seq: number) =>
  (
    await h.db.query<{ event_id: string }>(`SELECT event_id FROM records WHERE tenant_id = $1 AND seq = $2`, [
      tenantId,
      seq,
    ])
  ).rows[0]!.event_id;

it('verifies an untouched chain', async () => {
  await seedChain('tamper-none');
  const report = await verify('tamper-none');
  expect(report).toMatchObject({ ok: true, firstBrokenLink: null, fromSeq: 1, headSeq: 11 });
  // The verify call is itself a record appended before the check: 10 events plus the query.
  expect(report.checked).toBe(11);
});

it('finds a record whose content was changed', async () => {
  await seedChain('tamper-update');
  const eventId = await eventIdAt('tamper-update', 4);
  await asSuperuserWithoutTriggers(
    `UPDATE records SET content = replace(content, ':', ': ') WHERE tenant_id = 'tamper-update' AND seq = 4`,
  );
  const report = await verify('tamper-update');
  expect(report.ok).toBe(false);
  expect(report.firstBrokenLink).toMatchObject({ seq: 4, eventId, reason: 'content_mismatch' });
  expect(report.checked).toBe(3);
});

it('finds a changed filter column even when the content is intact', async () => {
  await seedChain('tamper-column');
  await asSuperuserWithoutTriggers(
    `UPDATE records SET status = 'failed' WHERE tenant_id = 'tamper-column' AND seq = 5`,
  );
  expect((await verify('tamper-column')).firstBrokenLink).toMatchObject({
    seq: 5,
    reason: 'content_mismatch',
  });
});

it('finds a deleted record as a gap', async () => {
  await seedChain('tamper-delete');
  await asSuperuserWithoutTriggers(`DELETE FROM records WHERE tenant_id = 'tamper-delete' AND seq = 6`);
  const report = await verify('tamper-delete');
  expect(report.firstBrokenLink).toMatchObject({ seq: 6, reason: 'gap', found: 'seq 7' });
});

it('finds the last records deleted, against the chain head', async () => {
  await seedChain('tamper-tail');
  await asSuperuserWithoutTriggers(`DELETE FROM records WHERE tenant_id = 'tamper-tail' AND seq >= 9`);
  const report = await verify('tamper-tail', '&toSeq=10');
  expect(report.firstBrokenLink).toMatchObject({ seq: 9, reason: 'gap' });
});

it('finds a deleted tail and a rewound head against the newest signed checkpoint', async () => {
  await seedChain('tamper-rewind');
  await h.app.get(CheckpointService).checkpointDue();
  // The last three records go, and the head is set back to the record before them, as a superuser could.
  await asSuperuserWithoutTriggers(`
    DELETE FROM records WHERE tenant_id = 'tamper-rewind' AND seq >= 8;
    UPDATE chain_heads h SET last_seq = 7, last_hash = r.record_hash, checkpointed_seq = 7
      FROM records r WHERE r.tenant_id = h.tenant_id AND r.seq = 7 AND h.tenant_id = 'tamper-rewind';`);
  const report = await verify('tamper-rewind');
  expect(report.ok).toBe(false);
  // The verify query itself is appended on the rewound head as record 8: 9 and 10, which the checkpoint covers, are gone.
  expect(report.firstBrokenLink).toMatchObject({ seq: 9, reason: 'gap' });
  expect(report.headMismatch).toMatchObject({ reason: 'head_rewound', headSeq: 8, checkpointSeq: 10 });
  expect(report.newestCheckpoint).toMatchObject({ seq: 10 });
});

it('names a head set back behind records that are all still there', async () => {
  await seedChain('tamper-head');
  await h.app.get(CheckpointService).checkpointDue();
  await asSuperuserWithoutTriggers(`
    UPDATE chain_heads h SET last_seq = 6, last_hash = r.record_hash
      FROM records r WHERE r.tenant_id = h.tenant_id AND r.seq = 6 AND h.tenant_id = 'tamper-head';`);
  const report = await h.app.get(ChainVerifier).verify('tamper-head');
  expect(report).toMatchObject({ ok: false, headSeq: 6, toSeq: 10, checked: 10, firstBrokenLink: null });
  expect(report.headMismatch).toMatchObject({
    reason: 'head_rewound',
    headSeq: 6,
    lastStoredSeq: 10,
    checkpointSeq: 10,
  });
  // Through the API the auditor's query cannot go into this chain (its next seq is taken): it is recorded in the
  // platform chain instead, naming the chain that refused it, and the report is answered all the same.
  const platformBefore = await storedCount(h, '*platform');
  const res = await auditHttp<VerifyReport>(
    h,
    '/v1/audit/verify?tenantId=tamper-head',
    auditor('tamper-head'),
  );
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ ok: false, headMismatch: { reason: 'head_rewound', headSeq: 6 } });
  expect(await storedCount(h, 'tamper-head')).toBe(10);
  const { rows } = await h.db.query<{ content: string }>(
    `SELECT content FROM records WHERE tenant_id = '*platform' AND seq > $1 ORDER BY seq`,
    [platformBefore],
  );
  expect(rows.map((r) => JSON.parse(r.content) as unknown)).toEqual([
    expect.objectContaining({ endpoint: 'verify', refusedByChain: 'tamper-head' }),
  ]);
});

it('names a head whose hash is not the record hash at its seq', async () => {
  await seedChain('tamper-head-hash');
  await asSuperuserWithoutTriggers(
    `UPDATE chain_heads SET last_hash = '\\x${'ab'.repeat(32)}' WHERE tenant_id = 'tamper-head-hash'`,
  );
  const report = await h.app.get(ChainVerifier).verify('tamper-head-hash');
  expect(report).toMatchObject({ ok: false, firstBrokenLink: null, checked: 10 });
  expect(report.headMismatch).toMatchObject({
    reason: 'head_hash_mismatch',
    headSeq: 10,
    found: 'ab'.repeat(32),
  });
});

it('finds the record under the newest checkpoint replaced, with the head left alone', async () => {
  await seedChain('tamper-last');
  await h.app.get(CheckpointService).checkpointDue();
  await asSuperuserWithoutTriggers(`DELETE FROM records WHERE tenant_id = 'tamper-last' AND seq = 10`);
  const report = await h.app.get(ChainVerifier).verify('tamper-last');
  expect(report.firstBrokenLink).toMatchObject({ seq: 10, reason: 'gap' });
  expect(report.headMismatch).toBeNull();
});

it('finds two records swapped (reordered) at the first of them', async () => {
  await seedChain('tamper-swap');
  await asSuperuserWithoutTriggers(`
    UPDATE records SET seq = CASE seq WHEN 3 THEN 1000007 WHEN 7 THEN 1000003 END WHERE tenant_id = 'tamper-swap' AND seq IN (3, 7);
    UPDATE records SET seq = seq - 1000000 WHERE tenant_id = 'tamper-swap' AND seq > 1000000;`);
  const report = await verify('tamper-swap');
  expect(report.firstBrokenLink).toMatchObject({ seq: 3, reason: 'content_mismatch' });
});

it('finds a rewrite that recomputed every hash after the change, by the signed checkpoint', async () => {
  await seedChain('tamper-rewrite');
  await h.app.get(CheckpointService).checkpointDue();
  // Rewrite record 2 and re-link every record after it, as someone with the table (but not the key) could.
  const { rows } = await h.db.query<StoredRecordRow>(
    `SELECT * FROM records WHERE tenant_id = 'tamper-rewrite' ORDER BY seq`,
  );
  let prev = rows[0]!.prev_hash;
  const updates: string[] = [];
  for (const r of rows) {
    const seq = Number(r.seq);
    const content = seq === 2 ? r.content.replace(':', ': ') : r.content;
    const ch = contentHash({
      tenantId: 'tamper-rewrite',
      seq,
      eventId: r.event_id,
      type: r.event_type,
      source: r.source,
      taskId: r.task_id,
      occurredAt: r.occurred_at,
      recordedAt: r.recorded_at,
      route: r.route,
      model: r.model,
      status: r.status,
      decision: r.decision,
      content,
    });
    const rh = recordHash(prev, ch);
    updates.push(
      `UPDATE records SET content = '${content.replace(/'/g, "''")}', prev_hash = '\\x${prev.toString('hex')}', content_hash = '\\x${ch.toString('hex')}', record_hash = '\\x${rh.toString('hex')}' WHERE tenant_id = 'tamper-rewrite' AND seq = ${seq};`,
    );
    prev = rh;
  }
  updates.push(
    `UPDATE chain_heads SET last_hash = '\\x${prev.toString('hex')}' WHERE tenant_id = 'tamper-rewrite';`,
  );
  await asSuperuserWithoutTriggers(updates.join('\n'));
  const report = await verify('tamper-rewrite', '&toSeq=10');
  expect(report.firstBrokenLink).toMatchObject({ seq: 10, reason: 'checkpoint_mismatch' });
});

it('refuses UPDATE, DELETE and TRUNCATE by the service role, and by the trigger for anyone else', async () => {
  await seedChain('tamper-role');
  const writer = new Client({
    connectionString: h.databaseUrl.replace('postgres@', `${h.config.AUDIT_DATABASE_ROLE}@`),
    options: '-c search_path=audit',
  });
  await writer.connect();
  try {
    expect((await writer.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(
      'deliberate_audit_writer',
    );
    await expect(
      writer.query(`UPDATE records SET status = 'x' WHERE tenant_id = 'tamper-role'`),
    ).rejects.toThrow(/permission denied/);
    await expect(writer.query(`DELETE FROM records WHERE tenant_id = 'tamper-role'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(writer.query(`TRUNCATE records`)).rejects.toThrow(/permission denied/);
    await expect(writer.query(`DELETE FROM checkpoints`)).rejects.toThrow(/permission denied/);
    // The head moves only through the append function, records and checkpoints are written only through theirs.
    await expect(
      writer.query(`UPDATE chain_heads SET last_seq = 1 WHERE tenant_id = 'tamper-role'`),
    ).rejects.toThrow(/permission denied/);
    await expect(writer.query(`DELETE FROM chain_heads WHERE tenant_id = 'tamper-role'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(
      writer.query(`SELECT 1 FROM chain_heads WHERE tenant_id = 'tamper-role' FOR UPDATE`),
    ).rejects.toThrow(/permission denied/);
    await expect(
      writer.query(
        `INSERT INTO records (tenant_id, seq, event_id, event_type, source, occurred_at, recorded_at, content,
                              prev_hash, content_hash, record_hash)
         VALUES ('tamper-role', 11, 'forged', 'forged', 'forged', now(), now(), '{}', '\\x00', '\\x00', '\\x00')`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(
      writer.query(
        `INSERT INTO checkpoints (tenant_id, seq, record_hash, signed_at, key_id, signature)
         VALUES ('tamper-role', 10, '\\x00', now(), 'forged', '\\x00')`,
      ),
    ).rejects.toThrow(/permission denied/);
    // The purge permit is a row only the purge function writes.
    await expect(
      writer.query(`INSERT INTO purge_permits VALUES (pg_current_xact_id(), 'tamper-role', 10)`),
    ).rejects.toThrow(/permission denied/);
    await expect(writer.query(`SELECT purge_expired('tamper-role', now())`)).rejects.toThrow(
      /retention floor/,
    );
  } finally {
    await writer.end();
  }
  // The owner has the privileges, but the trigger stands in the way while it is enabled.
  await expect(h.db.query(`UPDATE records SET status = 'x' WHERE tenant_id = 'tamper-role'`)).rejects.toThrow(
    /append-only/,
  );
  await expect(h.db.query(`DELETE FROM records WHERE tenant_id = 'tamper-role'`)).rejects.toThrow(
    /append-only/,
  );
  await expect(h.db.query(`TRUNCATE records`)).rejects.toThrow(/append-only/);
  expect(await storedCount(h, 'tamper-role')).toBe(10);
});

it('refuses a delete by a role granted DELETE that sets the old purge flag', async () => {
  await seedChain('tamper-flag');
  const role = `audit_ops_${randomBytes(4).toString('hex')}`;
  await h.db.query(`CREATE ROLE ${role} LOGIN`);
  try {
    await h.db.query(`GRANT USAGE ON SCHEMA audit TO ${role}`);
    await h.db.query(`GRANT SELECT, DELETE ON audit.records TO ${role}`);
    const ops = new Client({
      connectionString: h.databaseUrl.replace('postgres@', `${role}@`),
      options: '-c search_path=audit',
    });
    await ops.connect();
    try {
      await ops.query('BEGIN');
      await ops.query(`SELECT set_config('audit.purging', 'on', true)`);
      await expect(ops.query(`DELETE FROM records WHERE tenant_id = 'tamper-flag'`)).rejects.toThrow(
        /append-only|permission denied/,
      );
      await ops.query('ROLLBACK');
    } finally {
      await ops.end();
    }
  } finally {
    await h.db.query(`DROP OWNED BY ${role}`);
    await h.db.query(`DROP ROLE ${role}`);
  }
  expect(await storedCount(h, 'tamper-flag')).toBe(10);
});

it('exports checkpoints whose signatures verify with the exported public key alone', async () => {
  await seedChain('tamper-export');
  await h.app.get(CheckpointService).checkpointDue();
  const res = await auditHttp<{
    algorithm: string;
    publicKeyPem: string;
    checkpoints: { tenantId: string; seq: number; recordHash: string; at: string; signature: string }[];
  }>(h, '/v1/audit/checkpoints', auditor('tamper-export'));
  expect(res.status).toBe(200);
  expect(res.body.algorithm).toBe('Ed25519');
  expect(res.body.checkpoints.length).toBeGreaterThan(0);
  for (const c of res.body.checkpoints) {
    expect(c.tenantId).toBe('tamper-export');
    const statement = { tenantId: c.tenantId, seq: c.seq, recordHash: c.recordHash, at: c.at };
    expect(
      verifySignature(
        null,
        statementBytes(statement),
        res.body.publicKeyPem,
        Buffer.from(c.signature, 'base64'),
      ),
    ).toBe(true);
    expect(
      verifySignature(
        null,
        statementBytes({ ...statement, seq: c.seq + 1 }),
        res.body.publicKeyPem,
        Buffer.from(c.signature, 'base64'),
      ),
    ).toBe(false);
  }
});

it('counts each verify that finds a broken chain as a failure, an intact one not, and each query as an appended record', async () => {
  const tenantId = 'tamper-metrics';
  await seedChain(tenantId);
  const before = await scrapeMetrics(h.url);
  const moved = async (name: string) => (await scrapeMetrics(h.url)).value(name) - before.value(name);
  expect((await verify(tenantId)).ok).toBe(true);
  expect(await moved('deliberate_audit_verify_failures_total')).toBe(0);

  await asSuperuserWithoutTriggers(`UPDATE records SET status = 'failed' WHERE tenant_id = $1 AND seq = 3`, [
    tenantId,
  ]);
  expect((await verify(tenantId)).ok).toBe(false);
  expect((await verify(tenantId)).ok).toBe(false);
  expect(await moved('deliberate_audit_verify_failures_total')).toBe(2);
  // Each verify is itself a record, appended before its check.
  expect(await moved('deliberate_audit_records_appended_total')).toBe(3);
  expect(await moved('deliberate_audit_chain_length')).toBe(3);
});
