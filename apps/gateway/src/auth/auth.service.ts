import {
  type ApiKeyRole,
  type CreatedApiKeyResponse,
  type TenantQuotas,
  type TenantResponse,
  uuidv7,
} from '@deliberate/contracts';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { constantTimeEquals, generateApiKey, hashApiKey, looksLikeApiKey } from './api-key-secret';
import { AuthRepository } from './auth.repository';
import { ExpiringCache } from './expiring-cache';
import type { Principal } from './principal';

/** Who a key belongs to, and how fast it may call (null: a platform key, which is not rate-limited). */
export interface Caller {
  principal: Principal;
  rate: { perSecond: number; burst: number } | null;
}

// Verified keys and unknown keys are cached apart, each bounded: a flood of random keys can only push out other
// unknown keys, never a tenant's valid one.
const KNOWN_KEYS_CACHED = 10_000;
const UNKNOWN_KEYS_CACHED = 10_000;

const platformCaller = (kind: 'platform-admin' | 'platform-auditor'): Caller => ({
  principal: { kind },
  rate: null,
});

@Injectable()
export class AuthService {
  private readonly known = new ExpiringCache<Caller>(KNOWN_KEYS_CACHED);
  private readonly unknown = new ExpiringCache<true>(UNKNOWN_KEYS_CACHED);

  constructor(
    private readonly repository: AuthRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async authenticate(key: string): Promise<Caller | null> {
    const adminKey = this.config.GATEWAY_ADMIN_API_KEY;
    if (adminKey && constantTimeEquals(key, adminKey)) return platformCaller('platform-admin');
    const auditorKey = this.config.GATEWAY_PLATFORM_AUDITOR_API_KEY;
    if (auditorKey && constantTimeEquals(key, auditorKey)) return platformCaller('platform-auditor');
    if (!looksLikeApiKey(key)) return null;
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.known.get(hash, now);
    if (cached) return cached;
    if (this.unknown.get(hash, now)) return null;
    const found = await this.repository.findActiveKeyByHash(hash);
    const ttl = this.config.GATEWAY_API_KEY_CACHE_TTL_MS;
    if (!found) {
      if (ttl > 0) this.unknown.set(hash, true, now + ttl);
      return null;
    }
    const { quotas } = found;
    const caller: Caller = {
      principal: {
        kind: 'tenant',
        tenantId: found.tenantId,
        role: found.role,
        keyId: found.id,
        ...(quotas.maxWebhookEndpoints !== null ? { maxWebhookEndpoints: quotas.maxWebhookEndpoints } : {}),
      },
      rate: {
        perSecond: quotas.requestsPerSecond ?? this.config.GATEWAY_RATE_LIMIT_PER_SECOND,
        burst: quotas.burst ?? this.config.GATEWAY_RATE_LIMIT_BURST,
      },
    };
    if (ttl > 0) this.known.set(hash, caller, now + ttl);
    return caller;
  }

  /** Quota changes reach this replica's callers at once, other replicas' within GATEWAY_API_KEY_CACHE_TTL_MS. */
  async updateTenantQuotas(id: string, quotas: Partial<TenantQuotas>): Promise<TenantResponse> {
    const tenant = await this.repository.updateTenantQuotas(id, quotas);
    if (!tenant) throw new NotFoundException(`tenant '${id}' not found`);
    this.known.clear();
    return tenant;
  }

  async createTenant(id: string, name: string): Promise<TenantResponse> {
    const tenant = await this.repository.insertTenant(id, name);
    if (!tenant) throw new ConflictException(`tenant '${id}' already exists`);
    return tenant;
  }

  listTenants(): Promise<TenantResponse[]> {
    return this.repository.listTenants();
  }

  tenantExists(id: string): Promise<boolean> {
    return this.repository.tenantExists(id);
  }

  async createApiKey(
    tenantId: string,
    role: ApiKeyRole,
    name: string | null,
  ): Promise<CreatedApiKeyResponse> {
    if (!(await this.repository.tenantExists(tenantId)))
      throw new NotFoundException(`tenant '${tenantId}' not found`);
    const secret = generateApiKey();
    const stored = await this.repository.insertApiKey({
      id: uuidv7(),
      tenantId,
      role,
      name,
      hash: secret.hash,
      prefix: secret.prefix,
    });
    return { ...stored, key: secret.key };
  }

  async listApiKeys(tenantId: string) {
    if (!(await this.repository.tenantExists(tenantId)))
      throw new NotFoundException(`tenant '${tenantId}' not found`);
    return this.repository.listApiKeys(tenantId);
  }

  async revokeApiKey(tenantId: string, keyId: string) {
    const revoked = await this.repository.revokeApiKey(tenantId, keyId);
    if (!revoked) throw new NotFoundException(`API key '${keyId}' not found for tenant '${tenantId}'`);
    this.known.clear();
    return revoked;
  }
}
