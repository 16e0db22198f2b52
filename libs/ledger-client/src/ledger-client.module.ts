import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { BreakerStateCache } from './breaker-state.cache';
import { LedgerClient } from './ledger-client';
import { LEDGER_CLIENT_OPTIONS, type LedgerClientOptions } from './ledger-client.options';

export interface LedgerClientModuleOptions extends LedgerClientOptions {
  /** Also provide BreakerStateCache; it needs KafkaModule.forRoot in the importing app. */
  breakerStateCache?: boolean;
  /** Provide LedgerClient (request-reply); default true. A service that only watches breakers leaves it out. */
  rpcClient?: boolean;
}

@Module({})
export class LedgerClientModule {
  static forRoot(options: LedgerClientModuleOptions): DynamicModule {
    const exported: Provider[] = [
      ...(options.rpcClient === false ? [] : [LedgerClient]),
      ...(options.breakerStateCache ? [BreakerStateCache] : []),
    ];
    return {
      module: LedgerClientModule,
      providers: [{ provide: LEDGER_CLIENT_OPTIONS, useValue: options }, ...exported],
      exports: exported,
    };
  }
}
