import type { MigrationInterface, QueryRunner } from 'typeorm';

// What a budget denial does is the tenant's policy (onBudgetDenied, set through PUT /v1/policy), one for all of a
// tenant's budgets; a budget no longer carries its own. Undone, every budget gets back the former default, 'fail'.
export class DropBudgetOverBudgetPolicy1796400001000 implements MigrationInterface {
  name = 'DropBudgetOverBudgetPolicy1796400001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE budgets DROP COLUMN over_budget_policy`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE budgets ADD COLUMN over_budget_policy text NOT NULL DEFAULT 'fail'
         CHECK (over_budget_policy IN ('fail', 'route_cheap'))`,
    );
  }
}
