import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseUnsafeBodyText } from './unsafe-text.middleware';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
  length?: number;
}

/** A request whose JSON body was parsed here: `rawBody` holds the bytes exactly as received. */
export type RequestWithRawBody = Request & { rawBody?: Buffer };

// Kept for checks that must see the body unchanged: the gateway signs the bytes it forwards.
const keepRawBody = (req: IncomingMessage, _res: ServerResponse, buf: Buffer) => {
  (req as RequestWithRawBody).rawBody = buf;
};

// Express parses JSON before Nest sees the request, so its errors need their own handler, placed right after it.
export function installJsonBodyParser(app: INestApplication, maxBodyBytes: number): void {
  app.use((req: Request, res: Response, next: NextFunction) => {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is('application/json')) {
      res.status(415).json({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: `Content-Type must be application/json, not '${req.headers['content-type'] ?? '(none)'}'`,
      });
      return;
    }
    next();
  });
  app.use(express.json({ limit: maxBodyBytes, strict: false, verify: keepRawBody }));
  app.use((err: BodyParserError, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    if (err.type === 'entity.too.large') {
      res.status(413).json({
        statusCode: 413,
        error: 'Payload Too Large',
        message: `request body of ${err.length ?? 'unknown'} bytes exceeds the limit of ${maxBodyBytes} bytes`,
      });
      return;
    }
    if (err.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ statusCode: 400, error: 'Bad Request', message: `malformed JSON body: ${err.message}` });
      return;
    }
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      res.status(415).json({ statusCode: 415, error: 'Unsupported Media Type', message: err.message });
      return;
    }
    next(err);
  });
  // JSON.parse turns `\u0000` and a lone `\ud800` escape into the very characters Postgres and Kafka consumers refuse.
  app.use(refuseUnsafeBodyText);
}
