// Calling a service's internal HTTP API as the gateway does: a principal signed with the internal key over the exact
// request (libs/contracts), from the built library, so the benchmark signs as the running services verify.
import { builtContracts } from './built.ts';

/** A caller as the gateway vouches for it (libs/contracts). */
export type Principal = import('@deliberate/contracts').Principal;

export function signedIdentity(
  service: string,
  internalKey: string,
  method: string,
  target: string,
  body: string | undefined,
  principal: Principal,
): Record<string, string> {
  const { PRINCIPAL_HEADER, PRINCIPAL_SIGNATURE_HEADER, signPrincipal, splitRequestTarget } =
    builtContracts();
  const principalJson = JSON.stringify(principal);
  const request = {
    service,
    method,
    ...splitRequestTarget(target),
    body: body === undefined ? undefined : Buffer.from(body),
    principal: principalJson,
  };
  const expiresAtSeconds = Math.floor(Date.now() / 1000) + 30;
  return {
    [PRINCIPAL_HEADER]: principalJson,
    [PRINCIPAL_SIGNATURE_HEADER]: signPrincipal(internalKey, request, expiresAtSeconds),
  };
}
