import { MetricsController } from '@deliberate/http';
import { MetricsModule } from '@deliberate/metrics';
import {
  INTERNAL_AUTH_OPTIONS,
  InternalAuthGuard,
  type InternalAuthOptions,
  ProblemFilter,
} from '@deliberate/http';
import { kafkaOptionsFromConfig, KafkaModule } from '@deliberate/kafka';
import { Sql } from '@deliberate/persistence';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditController } from './api/audit.controller';
import { AuditTrailService } from './api/audit-trail.service';
import { RecordQueryRepository } from './api/record-query.repository';
import { ChainRepository } from './chain/chain.repository';
import { RecordAppender } from './chain/record-appender';
import { CheckpointRepository } from './checkpoints/checkpoint.repository';
import { CheckpointService } from './checkpoints/checkpoint.service';
import { CheckpointKeyring } from './checkpoints/checkpoint-keyring';
import { CheckpointSigner, parseSigningKey } from './checkpoints/checkpoint-signer';
import { AUDIT_CONFIG, type AuditConfig } from './config';
import { HealthController } from './health/health.controller';
import { AUDITED_EVENTS } from './ingest/audited-events';
import { AuditSink } from './ingest/audit-sink';
import { AuditMetrics } from './metrics/audit-metrics';
import { AuditDatabase } from './persistence/audit-database';
import { AUDIT_READ_SQL } from './reads/read-sql';
import { FieldCipher } from './privacy/field-cipher';
import { RecordPrivacy } from './privacy/record-privacy';
import { Redactor } from './privacy/redactor';
import { RecordPartitionRepository } from './retention/record-partition.repository';
import { RetentionService } from './retention/retention.service';
import { ChainVerifier } from './verify/chain-verifier';

@Module({})
export class AuditModule {
  static forRoot(config: AuditConfig): DynamicModule {
    return {
      module: AuditModule,
      imports: [
        MetricsModule.forService('audit'),
        KafkaModule.forRoot({ ...kafkaOptionsFromConfig('audit', config), topics: AUDITED_EVENTS }),
      ],
      controllers: [MetricsController, AuditController, HealthController],
      providers: [
        { provide: AUDIT_CONFIG, useValue: config },
        {
          provide: INTERNAL_AUTH_OPTIONS,
          useValue: {
            service: 'audit',
            key: config.AUDIT_INTERNAL_TOKEN,
            keyVariable: 'AUDIT_INTERNAL_TOKEN',
          } satisfies InternalAuthOptions,
        },
        { provide: APP_GUARD, useClass: InternalAuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: AuditDatabase, useFactory: () => AuditDatabase.open(config) },
        { provide: Sql, useFactory: (database: AuditDatabase) => database.sql, inject: [AuditDatabase] },
        {
          provide: AUDIT_READ_SQL,
          useFactory: (database: AuditDatabase) => database.reads,
          inject: [AuditDatabase],
        },
        {
          provide: CheckpointSigner,
          useFactory: () => new CheckpointSigner(parseSigningKey(config.AUDIT_SIGNING_KEY)),
        },
        {
          provide: CheckpointKeyring,
          useFactory: (signer: CheckpointSigner) =>
            new CheckpointKeyring(signer, config.AUDIT_CHECKPOINT_PUBLIC_KEYS),
          inject: [CheckpointSigner],
        },
        {
          provide: RecordPrivacy,
          useFactory: () =>
            new RecordPrivacy(
              new Redactor(config.AUDIT_REDACTION === 'on', config.AUDIT_REDACT_PATTERNS),
              new FieldCipher(
                config.AUDIT_ENCRYPTION_KEY ? Buffer.from(config.AUDIT_ENCRYPTION_KEY, 'base64') : null,
                config.AUDIT_ENCRYPTED_TENANTS,
              ),
            ),
        },
        ChainRepository,
        CheckpointRepository,
        RecordAppender,
        CheckpointService,
        RecordPartitionRepository,
        RetentionService,
        ChainVerifier,
        RecordQueryRepository,
        AuditTrailService,
        AuditSink,
        AuditMetrics,
      ],
    };
  }
}
