import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { OpenAiHttpError, openAiErrorBody, type OpenAiErrorBody } from './openai-error';

interface HttpLikeError {
  status?: unknown;
  type?: unknown;
}

// Catches everything, including body-parser failures and unknown routes, and answers in OpenAI's error shape.
@Catch()
export class OpenAiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('OpenAiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const { status, body, headers } = this.toOpenAi(exception, req);
    if (status >= 500 && !(exception instanceof OpenAiHttpError)) this.logger.error(exception);
    if (res.headersSent || res.destroyed) return;
    res.status(status).set(headers).json(body);
  }

  private toOpenAi(
    exception: unknown,
    req: Request,
  ): { status: number; body: OpenAiErrorBody; headers: Readonly<Record<string, string>> } {
    if (exception instanceof OpenAiHttpError) {
      return { status: exception.status, body: exception.body, headers: exception.headers };
    }
    const status =
      exception instanceof HttpException
        ? exception.getStatus()
        : typeof (exception as HttpLikeError | null)?.status === 'number'
          ? ((exception as HttpLikeError).status as number)
          : 500;
    // Nest wraps body-parser's errors in an HttpException and keeps the original as the cause.
    const cause = exception instanceof Error && exception.cause !== undefined ? exception.cause : exception;
    if ((cause as HttpLikeError | null)?.type === 'entity.parse.failed') {
      return {
        status: 400,
        headers: {},
        body: openAiErrorBody(
          `We could not parse the JSON body of your request: ${(cause as Error).message}.`,
          'invalid_request_error',
          null,
          'invalid_json',
        ),
      };
    }
    if (status === 413) {
      return {
        status,
        headers: {},
        body: openAiErrorBody(
          'The request body is too large.',
          'invalid_request_error',
          null,
          'request_too_large',
        ),
      };
    }
    if (status === 404) {
      return {
        status,
        headers: {},
        body: openAiErrorBody(
          `Unknown request URL: ${req.method} ${req.path}.`,
          'invalid_request_error',
          null,
          'unknown_url',
        ),
      };
    }
    if (status < 500) {
      const message = exception instanceof Error ? exception.message : 'Invalid request.';
      return { status, headers: {}, body: openAiErrorBody(message, 'invalid_request_error') };
    }
    return {
      status: 500,
      headers: {},
      body: openAiErrorBody(
        'The simulator had an internal error while processing your request.',
        'server_error',
      ),
    };
  }
}
