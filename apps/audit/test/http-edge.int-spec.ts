import { describeHttpEdge } from '@deliberate/testing';
import { startAudit } from './audit-harness';

describeHttpEdge({
  name: 'audit HTTP edge',
  start: () => startAudit('audit_http_edge'),
  queryRoute: '/v1/audit/verify',
});
