import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';
import { tenantIdSchema } from '@deliberate/contracts';
import { z } from 'zod';

/** `?tenantId=`: how a platform principal names the tenant; a tenant key may only name its own. */
export const tenantQuerySchema = z.strictObject({ tenantId: tenantIdSchema.optional() });
export type TenantQuery = z.output<typeof tenantQuerySchema>;

/** A path id that must be a UUID: anything else is a 400, not a 404 or a database error. */
export const uuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id: must be a UUID'),
});
