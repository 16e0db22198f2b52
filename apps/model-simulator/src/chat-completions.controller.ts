import { randomBytes } from 'node:crypto';
import { Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard } from './api-key.guard';
import { ChatCompletionService } from './chat-completion.service';
import { waitForDisconnect, waitUnlessClosed } from './simulated-delay';

@Controller('v1/chat')
@UseGuards(ApiKeyGuard)
export class ChatCompletionsController {
  constructor(private readonly completions: ChatCompletionService) {}

  // Writes the response itself: the answer may be sent after a long simulated delay, or never (hang).
  @Post('completions')
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const started = performance.now();
    const header = req.headers['x-sim-fault'];
    const outcome = this.completions.complete(req.body, Array.isArray(header) ? header[0] : header);
    if (outcome.kind === 'hang') {
      await waitForDisconnect(res);
      return;
    }
    if (!(await waitUnlessClosed(outcome.delayMs, res))) return;
    res
      .status(200)
      .set({
        'x-request-id': `req_${randomBytes(12).toString('hex')}`,
        'openai-processing-ms': String(Math.round(performance.now() - started)),
      })
      .json(outcome.body);
  }
}
