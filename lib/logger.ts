import pino from 'pino';

/** Structured JSON logs on stderr, so that a script's stdout carries only its report. */
export function createLogger(name: string, level = process.env.TICKSYNC_LOG_LEVEL || 'info'): pino.Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
