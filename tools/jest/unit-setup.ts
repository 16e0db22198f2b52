import { Logger } from '@nestjs/common';

// Unit tests construct services without a Nest application, so their loggers fall back to Nest's console logger.
// A passing test prints nothing: those logs are silenced unless TEST_LOGS=all.
if (process.env['TEST_LOGS'] !== 'all') Logger.overrideLogger(false);
