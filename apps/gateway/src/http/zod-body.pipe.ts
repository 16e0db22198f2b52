import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

export interface ValidationIssue {
  path: string;
  message: string;
}

export class RequestValidationException extends BadRequestException {
  constructor(readonly issues: ValidationIssue[]) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid request body: ${issues
        .slice(0, 5)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
      issues,
    });
  }
}

// Validates a body against a contract schema, naming every offending field and why.
export class ZodBodyPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly options: { optional?: boolean } = {},
  ) {}

  transform(value: unknown): z.infer<S> {
    if (value === undefined && this.options.optional) return undefined as z.infer<S>;
    if (value === undefined) {
      throw new RequestValidationException([{ path: '(body)', message: 'a JSON body is required' }]);
    }
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) {
      throw new RequestValidationException(
        parsed.error.issues.map((i) => ({
          path: i.path.length ? i.path.join('.') : '(body)',
          message: i.message,
        })),
      );
    }
    return parsed.data;
  }
}
