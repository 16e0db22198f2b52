import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { SimulatorOptions } from './config';
import { ApiKeyGuard } from './api-key.guard';
import { CallSimulator } from './call-simulator';
import { BillController } from './bill/bill.controller';
import { SimulatorBill } from './bill/simulator-bill';
import { ChatCompletionService } from './chat-completion.service';
import { ChatCompletionsController } from './chat-completions.controller';
import { HealthController } from './health.controller';
import { ModelsController } from './models.controller';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import { ResponsesController } from './responses/responses.controller';
import { ResponsesService } from './responses/responses.service';
import { SHUTDOWN_CALLBACK, ShutdownHook } from './shutdown-hook';
import { SIMULATOR_OPTIONS } from './simulator.tokens';

@Module({})
export class SimulatorModule {
  static forRoot(options: SimulatorOptions, onShutdown: () => Promise<void> = async () => {}): DynamicModule {
    return {
      module: SimulatorModule,
      controllers: [
        ChatCompletionsController,
        ResponsesController,
        ModelsController,
        BillController,
        HealthController,
      ],
      providers: [
        { provide: SIMULATOR_OPTIONS, useValue: options },
        { provide: APP_FILTER, useClass: OpenAiExceptionFilter },
        { provide: SHUTDOWN_CALLBACK, useValue: onShutdown },
        ShutdownHook,
        ApiKeyGuard,
        SimulatorBill,
        CallSimulator,
        ChatCompletionService,
        ResponsesService,
      ],
    };
  }
}
