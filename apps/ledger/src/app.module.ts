import { MetricsModule } from '@deliberate/metrics';
import {
  budgetBreakerClosedEvent,
  budgetBreakerOpenedEvent,
  budgetThresholdCrossedEvent,
  modelCallRecordedEvent,
  shadowComparisonRecordedEvent,
} from '@deliberate/contracts';
import { kafkaOptionsFromConfig, KafkaModule } from '@deliberate/kafka';
import { OutboxHealthController, OutboxModule } from '@deliberate/outbox';
import { PersistenceModule } from '@deliberate/persistence';
import { TenantPolicyModule } from '@deliberate/tenant-policy';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { BookingRepository } from './spending/booking.repository';
import { UsageBookingService } from './bookings/usage-booking.service';
import { UsageEventConsumer } from './bookings/usage-event.consumer';
import { BreakerRepository } from './breaker/breaker.repository';
import { CostBreakerService } from './breaker/cost-breaker.service';
import { DenialRepository } from './denials/denial.repository';
import { DenialsController } from './denials/denials.controller';
import { DenialsService } from './denials/denials.service';
import { BudgetRepository } from './spending/budget.repository';
import { BudgetsController } from './budgets/budgets.controller';
import { BudgetsService } from './budgets/budgets.service';
import { ThresholdCrossingRepository } from './budgets/threshold-crossing.repository';
import { ThresholdMonitor } from './budgets/threshold-monitor';
import { LedgerCommandTopics } from './commands/ledger-command-topics';
import { LedgerCommandsController } from './commands/ledger-commands.controller';
import { LEDGER_CONFIG, type LedgerConfig } from './config';
import { LedgerMetrics } from './metrics/ledger-metrics';
import { SpendCounterRepository } from './spending/spend-counter.repository';
import { SpendHolds } from './spending/spend-holds';
import {
  INTERNAL_AUTH_OPTIONS,
  InternalAuthGuard,
  type InternalAuthOptions,
  MetricsController,
  ProblemFilter,
} from '@deliberate/http';
import { CreateLedgerTables1795680000000 } from './migrations/1795680000000-create-ledger-tables';
import { SeedDefaultPrices1795680001000 } from './migrations/1795680001000-seed-default-prices';
import { SetAsideDeadOutboxRows1796100000000 } from './migrations/1796100000000-set-aside-dead-outbox-rows';
import { KeyReservationsAndFlagBookings1796400000000 } from './migrations/1796400000000-key-reservations-and-flag-bookings';
import { DropBudgetOverBudgetPolicy1796400001000 } from './migrations/1796400001000-drop-budget-over-budget-policy';
import { SupersedeAbortedBookings1796500000000 } from './migrations/1796500000000-supersede-aborted-bookings';
import { CounterFunctions1796600000000 } from './migrations/1796600000000-counter-functions';
import { CreateDenials1796700000000 } from './migrations/1796700000000-create-denials';
import { AddServiceTierPrices1797100000000 } from './migrations/1797100000000-add-service-tier-prices';
import { AddShadowEvaluation1797200000000 } from './migrations/1797200000000-add-shadow-evaluation';
import { ShadowComparisonConsumer } from './shadow/shadow-comparison.consumer';
import { ShadowComparisonRepository } from './shadow/shadow-comparison.repository';
import { ShadowReportController } from './shadow/shadow-report.controller';
import { ShadowReportService } from './shadow/shadow-report.service';
import { PriceCatalogue } from './pricing/price-catalogue.service';
import { PriceRepository } from './pricing/price.repository';
import { ReservationRepository } from './spending/reservation.repository';
import { ReservationService } from './reservations/reservation.service';
import { SpendController } from './spend/spend.controller';
import { SpendRepository } from './spend/spend.repository';
import { SpendService } from './spend/spend.service';
import { LedgerSweeper } from './sweeper/ledger-sweeper';

@Module({})
export class LedgerModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: LedgerModule,
      imports: [
        MetricsModule.forService('ledger'),
        PersistenceModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          schema: 'ledger',
          entities: [],
          migrations: [
            CreateLedgerTables1795680000000,
            SeedDefaultPrices1795680001000,
            SetAsideDeadOutboxRows1796100000000,
            KeyReservationsAndFlagBookings1796400000000,
            DropBudgetOverBudgetPolicy1796400001000,
            SupersedeAbortedBookings1796500000000,
            CounterFunctions1796600000000,
            CreateDenials1796700000000,
            AddServiceTierPrices1797100000000,
            AddShadowEvaluation1797200000000,
          ],
          poolSize: config.DATABASE_POOL_SIZE,
          preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        }),
        KafkaModule.forRoot({
          ...kafkaOptionsFromConfig('ledger', config),
          topics: [
            modelCallRecordedEvent,
            shadowComparisonRecordedEvent,
            budgetThresholdCrossedEvent,
            budgetBreakerOpenedEvent,
            budgetBreakerClosedEvent,
          ],
        }),
        OutboxModule.forRoot({
          events: [budgetThresholdCrossedEvent, budgetBreakerOpenedEvent, budgetBreakerClosedEvent],
        }),
        // What a budget denial or an open breaker asks callers to do is the tenant's policy.
        TenantPolicyModule,
      ],
      controllers: [
        MetricsController,
        LedgerCommandsController,
        SpendController,
        DenialsController,
        BudgetsController,
        ShadowReportController,
        OutboxHealthController,
      ],
      providers: [
        { provide: LEDGER_CONFIG, useValue: config },
        {
          provide: INTERNAL_AUTH_OPTIONS,
          useValue: {
            service: 'ledger',
            key: config.LEDGER_INTERNAL_TOKEN,
            keyVariable: 'LEDGER_INTERNAL_TOKEN',
          } satisfies InternalAuthOptions,
        },
        { provide: APP_GUARD, useClass: InternalAuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        PriceRepository,
        PriceCatalogue,
        BudgetRepository,
        BudgetsService,
        SpendCounterRepository,
        SpendHolds,
        ThresholdCrossingRepository,
        ThresholdMonitor,
        ReservationRepository,
        ReservationService,
        BookingRepository,
        UsageBookingService,
        UsageEventConsumer,
        BreakerRepository,
        CostBreakerService,
        SpendRepository,
        SpendService,
        DenialRepository,
        DenialsService,
        LedgerCommandTopics,
        LedgerSweeper,
        LedgerMetrics,
        ShadowComparisonRepository,
        ShadowComparisonConsumer,
        ShadowReportService,
      ],
    };
  }
}
