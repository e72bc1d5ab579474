import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';

/** Where a script on a terminal writes its logs (see logToFile); undefined: every log line goes to stderr. */
let logFile: string | undefined;

/**
 * A script whose stdout is a terminal keeps it for the report: from now on its
 * loggers write to `file`, and only warnings and errors reach stderr.
 */
export function logToFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  logFile = file;
}

/** The file the logs go to, when logToFile chose one. */
export const currentLogFile = () => logFile;

/** Structured JSON logs on stderr (or in the file logToFile chose), so that a script's stdout carries only its report. */
export function createLogger(name: string, level = process.env.TICKSYNC_LOG_LEVEL || 'info'): pino.Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (logFile === undefined) return pino(options, pino.destination(2));
  return pino(
    options,
    pino.multistream([
      { level: level as pino.Level, stream: pino.destination({ dest: logFile, append: true, sync: true }) },
      { level: 'warn', stream: pino.destination(2) },
    ]),
  );
}
