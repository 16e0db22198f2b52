import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { BreakerStateCache } from './breaker-state.cache';
import {
  CALL_RESERVATIONS_OPTIONS,
  CallReservations,
  type CallReservationsOptions,
} from './call-reservations';
import { LedgerClient } from './ledger-client';
import { LEDGER_CLIENT_OPTIONS, type LedgerClientOptions } from './ledger-client.options';

export interface LedgerClientModuleOptions extends LedgerClientOptions {
  /** Also provide BreakerStateCache; it needs KafkaModule.forRoot in the importing app. */
  breakerStateCache?: boolean;
  /** Provide LedgerClient (request-reply); default true. A service that only watches breakers leaves it out. */
  rpcClient?: boolean;
  /** Retry settings of CallReservations (provided with the rpc client); defaults otherwise. */
  callReservations?: CallReservationsOptions;
}

@Module({})
export class LedgerClientModule {
  static forRoot(options: LedgerClientModuleOptions): DynamicModule {
    const exported: Provider[] = [
      ...(options.rpcClient === false ? [] : [LedgerClient, CallReservations]),
      ...(options.breakerStateCache ? [BreakerStateCache] : []),
    ];
    return {
      module: LedgerClientModule,
      providers: [
        { provide: LEDGER_CLIENT_OPTIONS, useValue: options },
        { provide: CALL_RESERVATIONS_OPTIONS, useValue: options.callReservations ?? {} },
        ...exported,
      ],
      exports: exported,
    };
  }
}
