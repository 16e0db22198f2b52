import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { SimulatorOptions } from './config';
import { OpenAiHttpError, openAiErrorBody } from './openai-error';
import { SIMULATOR_OPTIONS } from './simulator.tokens';

// Any bearer key is accepted unless SIM_API_KEY is set, which lets tests check how services handle 401s.
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(SIMULATOR_OPTIONS) private readonly options: SimulatorOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.options.apiKey;
    if (expected === undefined) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    // The key starts at the first non-blank character: a blank-only rest cannot be split two ways (linear time).
    const match = /^Bearer\s+(\S.*)$/i.exec(header);
    if (!match) {
      throw new OpenAiHttpError(
        401,
        openAiErrorBody(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          'invalid_request_error',
          null,
          'missing_api_key',
        ),
      );
    }
    if (match[1] !== expected) {
      throw new OpenAiHttpError(
        401,
        openAiErrorBody('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key'),
      );
    }
    return true;
  }
}
