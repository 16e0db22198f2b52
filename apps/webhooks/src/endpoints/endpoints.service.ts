import {
  type CreateWebhookEndpointRequest,
  type Principal,
  type UpdateWebhookEndpointRequest,
  uuidv7,
  type WebhookEndpointResponse,
  type WebhookEndpointWithSecretResponse,
  type WebhookEventType,
} from '@deliberate/contracts';
import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { WEBHOOKS_CONFIG, type WebhooksConfig } from '../config';
import { deadLetters, DeliveryStore } from '../dispatch/delivery-store';
import { WebhooksMetrics } from '../dispatch/webhooks-metrics';
import { Outbox, OutboxRelay } from '@deliberate/outbox';
import { type ColumnCipher, Sql } from '@deliberate/persistence';
import { WEBHOOK_SECRET_CIPHER } from '../signing/secrets-at-rest';
import { endpointSecretContext } from '../signing/signing-secret.repository';
import { generateSecret } from '../signing/webhook-signature';
import { SsrfGuard } from '../ssrf/ssrf-guard';
import { endpointLimitFor } from './endpoint-limit';
import { EndpointRepository, toEndpointResponse } from './endpoint.repository';

@Injectable()
export class EndpointsService {
  constructor(
    private readonly sql: Sql,
    private readonly endpoints: EndpointRepository,
    private readonly store: DeliveryStore,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly guard: SsrfGuard,
    @Inject(WEBHOOKS_CONFIG) private readonly config: WebhooksConfig,
    @Inject(WEBHOOK_SECRET_CIPHER) private readonly cipher: ColumnCipher,
    private readonly metrics: WebhooksMetrics,
  ) {}

  async create(
    tenantId: string,
    request: Required<Pick<CreateWebhookEndpointRequest, 'url' | 'description'>> & {
      eventTypes: WebhookEventType[];
    },
    caller: Principal,
  ): Promise<WebhookEndpointWithSecretResponse> {
    this.checkUrl(request.url);
    const secret = generateSecret();
    const id = uuidv7();
    const limit = endpointLimitFor(caller, this.config.WEBHOOKS_MAX_ENDPOINTS_PER_TENANT);
    const row = await this.sql.transaction(async (tx) => {
      const count = await this.endpoints.lockAndCount(tx, tenantId);
      if (limit !== null && count >= limit) {
        throw new ConflictException(
          `tenant '${tenantId}' has ${count} webhook endpoints, its limit (quotas.maxWebhookEndpoints); change an ` +
            "existing endpoint's url with PATCH, or ask the platform admin for a higher limit",
        );
      }
      return this.endpoints.insert(tx, {
        id,
        tenantId,
        url: request.url,
        description: request.description,
        eventTypes: request.eventTypes,
        secret: this.cipher.encrypt(secret, endpointSecretContext(id)),
      });
    });
    return { ...toEndpointResponse(row), secret };
  }

  async list(tenantId: string): Promise<WebhookEndpointResponse[]> {
    return (await this.endpoints.list(this.sql, tenantId)).map(toEndpointResponse);
  }

  async get(tenantId: string, id: string): Promise<WebhookEndpointResponse> {
    return toEndpointResponse(await this.require(tenantId, id));
  }

  async update(
    tenantId: string,
    id: string,
    changes: UpdateWebhookEndpointRequest,
  ): Promise<WebhookEndpointResponse> {
    if (changes.url !== undefined) this.checkUrl(changes.url);
    await this.require(tenantId, id);
    return toEndpointResponse(await this.endpoints.update(this.sql, id, changes));
  }

  async rotateSecret(
    tenantId: string,
    id: string,
    overlapSeconds: number | undefined,
  ): Promise<WebhookEndpointWithSecretResponse> {
    const secret = generateSecret();
    const overlapMs =
      overlapSeconds === undefined ? this.config.WEBHOOKS_SECRET_OVERLAP_MS : overlapSeconds * 1000;
    const row = await this.sql.transaction(async (tx) => {
      await this.require(tenantId, id, tx);
      return this.endpoints.rotate(tx, id, this.cipher.encrypt(secret, endpointSecretContext(id)), overlapMs);
    });
    return { ...toEndpointResponse(row), secret };
  }

  /** Disables the endpoint and dead-letters what was scheduled for it; replay sends it after re-enabling. */
  async disable(tenantId: string, id: string): Promise<WebhookEndpointResponse> {
    const { row, events, deadLettered } = await this.sql.transaction(async (tx) => {
      await this.require(tenantId, id, tx);
      const drafts = await this.store.disableEndpoint(tx, id, 'manual', 'disabled through the API');
      return {
        row: await this.require(tenantId, id, tx),
        events: await this.outbox.addMany(tx, drafts),
        deadLettered: deadLetters(drafts),
      };
    });
    this.metrics.deadLettered(deadLettered);
    await this.relay.publish(events);
    return toEndpointResponse(row);
  }

  async enable(tenantId: string, id: string): Promise<WebhookEndpointResponse> {
    const row = await this.sql.transaction(async (tx) => {
      await this.require(tenantId, id, tx);
      return this.endpoints.enable(tx, id);
    });
    return toEndpointResponse(row);
  }

  private checkUrl(url: string): void {
    const problem = this.guard.checkUrl(url);
    if (problem) throw new BadRequestException(`url: ${problem}`);
  }

  private async require(tenantId: string, id: string, sql: Sql = this.sql) {
    const row = await this.endpoints.get(sql, tenantId, id, sql !== this.sql);
    if (!row) throw new NotFoundException(`no webhook endpoint ${id} for tenant '${tenantId}'`);
    return row;
  }
}
