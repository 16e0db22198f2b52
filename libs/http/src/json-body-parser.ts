import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
  length?: number;
}

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
  app.use(express.json({ limit: maxBodyBytes, strict: false }));
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
}
