// The spend report's query and the ?tenantId= query are HTTP contracts, shared with the gateway's OpenAPI document.
export { type SpendQuery, spendQuerySchema, tenantQuerySchema } from '@deliberate/contracts';
