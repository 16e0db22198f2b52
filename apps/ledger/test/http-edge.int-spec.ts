import { describeHttpEdge } from '@deliberate/testing';
import { startLedger } from './ledger-harness';

describeHttpEdge({
  name: 'ledger HTTP edge',
  start: () => startLedger('ledger_http_edge'),
  queryRoute: '/v1/ledger/spend',
  bodyRoute: { method: 'PUT', path: '/v1/ledger/budgets', body: '{"name":"x\\ud800"}', field: 'name' },
});
