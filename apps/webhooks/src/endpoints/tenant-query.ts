import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

// `?tenantId=` is an HTTP contract, shared with the gateway's OpenAPI document.
export { tenantQuerySchema, type TenantQuery } from '@deliberate/contracts';

/** A path id that must be a UUID: anything else is a 400, not a 404 or a database error. */
export const uuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id: must be a UUID'),
});
