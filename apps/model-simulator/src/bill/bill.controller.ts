import { Controller, Delete, Get, HttpCode, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { ApiKeyGuard } from '../api-key.guard';
import { OpenAiHttpError } from '../openai-error';
import { SimulatorBill, type BillBody } from './simulator-bill';

// The provider's invoice, so tests can hold the ledger's bookings against it; DELETE starts a new one.
@Controller('v1/bill')
@UseGuards(ApiKeyGuard)
export class BillController {
  constructor(private readonly bill: SimulatorBill) {}

  @Get()
  statement(@Query('since') since: unknown): BillBody {
    return this.bill.statement(parseSince(since));
  }

  @Delete()
  @HttpCode(200)
  reset(): { object: 'bill.reset'; dropped: number } {
    return { object: 'bill.reset', dropped: this.bill.reset() };
  }
}

// Date parses far more than ISO 8601 ('1' is 2001, an RFC 2822 date, a date-time followed by a NUL), so the form
// is checked first: a client that sent something else learns it, instead of reading the bill from another moment.
const sinceSchema = z.iso.datetime({ offset: true });

function parseSince(since: unknown): Date | null {
  if (since === undefined) return null;
  const at = sinceSchema.safeParse(since).success ? new Date(since as string) : null;
  if (at === null || Number.isNaN(at.getTime()))
    throw OpenAiHttpError.invalidRequest('since must be one ISO 8601 date-time', 'since', 'invalid_since');
  return at;
}
