import type { LedgerPrincipal } from '@deliberate/contracts';
import { BadRequestException, ForbiddenException } from '@nestjs/common';

/**
 * The tenant a request is about. A tenant principal sees only its own tenant; the platform admin picks one with
 * `?tenantId=`, or (when `optional`) sees every tenant.
 */
export function resolveTenant(
  principal: LedgerPrincipal,
  requested: string | undefined,
  optional: true,
): string | null;
export function resolveTenant(
  principal: LedgerPrincipal,
  requested: string | undefined,
  optional?: false,
): string;
export function resolveTenant(
  principal: LedgerPrincipal,
  requested: string | undefined,
  optional = false,
): string | null {
  if (principal.kind === 'tenant') {
    if (requested !== undefined && requested !== principal.tenantId) {
      throw new ForbiddenException(
        `a key of tenant '${principal.tenantId}' cannot see tenant '${requested}'`,
      );
    }
    return principal.tenantId;
  }
  if (requested !== undefined) return requested;
  if (optional) return null;
  throw new BadRequestException('tenantId: the platform admin must name a tenant (?tenantId=...)');
}
