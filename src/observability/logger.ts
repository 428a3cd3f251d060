import winston from 'winston';
import type { Config } from '../config.js';

/**
 * JSON lines on stdout, one per request plus lifecycle events. Callers pass only what may be
 * logged: never a key or Authorization header, and prompt text only when LOG_PROMPTS is on.
 */
export function createLogger(log: Config['log']): winston.Logger {
  return winston.createLogger({
    level: log.level === 'silent' ? 'error' : log.level,
    silent: log.level === 'silent',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
