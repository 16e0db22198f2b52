import { randomBytes } from 'node:crypto';
import { Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard } from './api-key.guard';
import { ChatCompletionService } from './chat-completion.service';
import { waitForDisconnect, waitForGeneration } from './simulated-delay';

// OpenAI's header for the caller's own id of a request, kept with the provider's record of the call.
export const CLIENT_REQUEST_ID_HEADER = 'x-client-request-id';

function firstHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

@Controller('v1/chat')
@UseGuards(ApiKeyGuard)
export class ChatCompletionsController {
  constructor(private readonly completions: ChatCompletionService) {}

  // Writes the response itself: the answer may be sent after a long simulated delay, or never (hang).
  @Post('completions')
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const started = performance.now();
    const outcome = this.completions.complete(req.body, firstHeader(req, 'x-sim-fault'));
    if (outcome.kind === 'hang') {
      await waitForDisconnect(res);
      return;
    }
    const requestId = `req_${randomBytes(12).toString('hex')}`;
    const clientConnected = await waitForGeneration(outcome.delayMs, res);
    this.completions.bill(outcome, {
      requestId,
      clientRequestId: firstHeader(req, CLIENT_REQUEST_ID_HEADER) ?? null,
      clientConnected,
    });
    if (!clientConnected) return;
    res
      .status(200)
      .set({
        'x-request-id': requestId,
        'openai-processing-ms': String(Math.round(performance.now() - started)),
      })
      .json(outcome.body);
  }
}
