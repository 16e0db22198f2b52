import { useState } from 'react';
import { useConsole } from '../../api/console-context';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditSearch } from './audit-search';
import { AuditVerify } from './audit-verify';

// The audit trail: search, chain verification, checkpoints and export. A tenant's auditor reads its own tenant;
// the platform auditor names the tenant to verify (the API requires it) and may search across tenants.

export function AuditPage() {
  const { me } = useConsole();
  const [tenant, setTenant] = useState('');
  const tenantId = me.kind === 'platform-auditor' ? tenant.trim() || undefined : undefined;
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      {me.kind === 'platform-auditor' ? (
        <div className="inline">
          <label htmlFor="audit-tenant">Tenant</label>
          <input id="audit-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} />
        </div>
      ) : null}
      <AuditVerify tenantId={tenantId} />
      <AuditSearch />
      <AuditCheckpoints tenantId={tenantId} />
    </section>
  );
}
