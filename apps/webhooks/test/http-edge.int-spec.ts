import { describeHttpEdge } from '@deliberate/testing';
import { startWebhooks } from './webhooks-harness';

describeHttpEdge({
  name: 'webhooks HTTP edge',
  start: () => startWebhooks('webhooks_http_edge'),
  queryRoute: '/v1/webhooks/endpoints',
  bodyRoute: {
    method: 'POST',
    path: '/v1/webhooks/endpoints',
    body: '{"url":"https://example.com/\\udc00"}',
    field: 'url',
  },
});
