/** Logger construction for binaries; library code receives a logger and never imports a global one. */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerConfig {
  /** @defaultValue `LOG_LEVEL` from the environment, else `info` */
  level?: string;
  /** Human-readable output. @defaultValue true when stderr is a TTY */
  pretty?: boolean;
}

/** Creates the root logger: pretty on a TTY (when pino-pretty is installed), JSON lines otherwise. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const level = config.level ?? process.env['LOG_LEVEL'] ?? 'info';
  const pretty = config.pretty ?? Boolean(process.stderr.isTTY);
  const opts: LoggerOptions = { level, base: { pid: process.pid } };
  if (pretty) {
    return pino({
      ...opts,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' },
      },
    });
  }
  return pino(opts, pino.destination(2));
}

/** A logger that discards everything (tests and embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
