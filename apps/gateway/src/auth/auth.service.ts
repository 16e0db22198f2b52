import {
  type ApiKeyRole,
  type CreatedApiKeyResponse,
  type TenantResponse,
  uuidv7,
} from '@deliberate/contracts';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { constantTimeEquals, generateApiKey, hashApiKey } from './api-key-secret';
import { AuthRepository } from './auth.repository';
import type { Principal } from './principal';

interface CachedPrincipal {
  principal: Principal | null;
  expiresAtMs: number;
}

@Injectable()
export class AuthService {
  private readonly cache = new Map<string, CachedPrincipal>();

  constructor(
    private readonly repository: AuthRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async authenticate(key: string): Promise<Principal | null> {
    const adminKey = this.config.GATEWAY_ADMIN_API_KEY;
    if (adminKey && constantTimeEquals(key, adminKey)) return { kind: 'platform-admin' };
    const auditorKey = this.config.GATEWAY_PLATFORM_AUDITOR_API_KEY;
    if (auditorKey && constantTimeEquals(key, auditorKey)) return { kind: 'platform-auditor' };
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAtMs > now) return cached.principal;
    const found = await this.repository.findActiveKeyByHash(hash);
    const principal: Principal | null = found
      ? { kind: 'tenant', tenantId: found.tenantId, role: found.role, keyId: found.id }
      : null;
    const ttl = this.config.GATEWAY_API_KEY_CACHE_TTL_MS;
    if (ttl > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, expiresAtMs: now + ttl });
    }
    return principal;
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
    this.cache.clear();
    return revoked;
  }
}
