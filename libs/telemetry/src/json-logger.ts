import { trace } from '@opentelemetry/api';
import type { LoggerService, LogLevel } from '@nestjs/common';

const LEVEL_ORDER = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVEL_ORDER;

// One JSON object per line on stdout, carrying the active trace and span ids so logs join their traces.
export class JsonLogger implements LoggerService {
  private readonly minLevel: number;

  constructor(
    private readonly service: string,
    level: Level = 'info',
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  ) {
    this.minLevel = LEVEL_ORDER[level];
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from LOG_LEVEL at start-up.
  }

  private emit(level: Level, message: unknown, rest: unknown[]): void {
    if (LEVEL_ORDER[level] < this.minLevel) return;
    // Nest passes the context (logger name) last, and for errors a stack before it.
    const args = [...rest];
    const context = typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, service: this.service };
    if (context) record['context'] = context;
    if (message instanceof Error) {
      record['msg'] = message.message;
      record['stack'] = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(record, message);
    } else {
      record['msg'] = String(message);
    }
    for (const extra of args) {
      if (typeof extra === 'string') record['stack'] = extra;
      else if (extra instanceof Error) record['stack'] = extra.stack;
      else if (typeof extra === 'object' && extra !== null) Object.assign(record, extra);
    }
    const span = trace.getActiveSpan()?.spanContext();
    if (span) {
      record['trace_id'] = span.traceId;
      record['span_id'] = span.spanId;
    }
    this.write(JSON.stringify(record));
  }
}
