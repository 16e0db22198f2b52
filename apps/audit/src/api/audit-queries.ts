// The audit API's queries are HTTP contracts, shared with the gateway's OpenAPI document.
export {
  auditTenantQuerySchema as tenantQuerySchema,
  type CheckpointsQuery,
  checkpointsQuerySchema,
  type Cursor,
  encodeCursor,
  type EventFilters,
  type ExportQuery,
  exportQuerySchema,
  type SearchQuery,
  searchQuerySchema,
  type VerifyQuery,
  verifyQuerySchema,
} from '@deliberate/contracts';
