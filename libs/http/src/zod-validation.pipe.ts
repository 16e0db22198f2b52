import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

export interface ValidationIssue {
  path: string;
  message: string;
}

export class RequestValidationException extends BadRequestException {
  constructor(
    what: string,
    readonly issues: ValidationIssue[],
  ) {
    super({
      statusCode: 400,
      error: 'Bad Request',
      message: `invalid ${what}: ${issues
        .slice(0, 5)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
      issues,
    });
  }
}

/** Parses `value` with a contract schema, or a 400 naming every offending field and why. */
export function parseOrBadRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RequestValidationException(
      what,
      parsed.error.issues.map((i) => ({
        path: i.path.length ? i.path.join('.') : '(root)',
        message: i.message,
      })),
    );
  }
  return parsed.data;
}

export class ZodBodyPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly options: { optional?: boolean } = {},
  ) {}

  transform(value: unknown): z.output<S> {
    if (value === undefined && this.options.optional) return undefined as z.output<S>;
    if (value === undefined) {
      throw new RequestValidationException('request body', [
        { path: '(body)', message: 'a JSON body is required' },
      ]);
    }
    return parseOrBadRequest(this.schema, value, 'request body');
  }
}

export class ZodQueryPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.output<S> {
    return parseOrBadRequest(this.schema, value ?? {}, 'query');
  }
}
