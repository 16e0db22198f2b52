import { randomBytes } from 'node:crypto';
import { Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiKeyGuard } from '../api-key.guard';
import { CLIENT_REQUEST_ID_HEADER } from '../chat-completions.controller';
import { OpenAiHttpError } from '../openai-error';
import { connectionGone, waitForDisconnect } from '../simulated-delay';
import { ResponsesService } from './responses.service';
import type { ResponseBody } from './response-body';

function firstHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const newRequestId = (): string => `req_${randomBytes(12).toString('hex')}`;

// GET takes the SDK's query parameters; the simulator has no streaming, so `stream` may only be false.
const RETRIEVE_QUERY_KEYS = new Set([
  'include',
  'include[]',
  'include_obfuscation',
  'starting_after',
  'stream',
]);

function checkRetrieveQuery(query: Record<string, unknown>): void {
  for (const key of Object.keys(query)) {
    if (!RETRIEVE_QUERY_KEYS.has(key))
      throw OpenAiHttpError.invalidRequest(
        `Unrecognized request argument supplied: ${key.slice(0, 100)}`,
        key.slice(0, 100),
        'unknown_parameter',
      );
  }
  const stream = query['stream'];
  if (stream !== undefined && stream !== 'false') {
    throw OpenAiHttpError.invalidRequest(
      'streaming is not supported by the simulator',
      'stream',
      'unsupported_value',
    );
  }
}

@Controller('v1/responses')
@UseGuards(ApiKeyGuard)
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  // Writes the response itself: a synchronous answer may come after a long simulated delay, or never (hang).
  @Post()
  @HttpCode(200)
  async create(@Req() req: Request, @Res() res: Response): Promise<void> {
    const started = performance.now();
    const requestId = newRequestId();
    const outcome = this.responses.create(req.body, {
      faultHeader: firstHeader(req, 'x-sim-fault'),
      requestId,
      clientRequestId: firstHeader(req, CLIENT_REQUEST_ID_HEADER) ?? null,
      clientConnected: () => !connectionGone(res),
    });
    if (outcome.kind === 'hang') {
      await waitForDisconnect(res);
      return;
    }
    let body: ResponseBody;
    if (outcome.kind === 'background') body = outcome.body;
    else {
      // The work goes on (and is billed) whether or not the client stays for it.
      await Promise.race([outcome.ended, waitForDisconnect(res)]);
      if (connectionGone(res)) return;
      body = outcome.body();
    }
    res
      .status(200)
      .set({
        'x-request-id': requestId,
        'openai-processing-ms': String(Math.round(performance.now() - started)),
      })
      .json(body);
  }

  @Get(':id')
  retrieve(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) res: Response,
  ): ResponseBody {
    checkRetrieveQuery(query);
    res.set('x-request-id', newRequestId());
    return this.responses.retrieve(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string, @Res({ passthrough: true }) res: Response): ResponseBody {
    res.set('x-request-id', newRequestId());
    return this.responses.cancel(id);
  }
}
