/**
 * A logger in flanneld's (klog's) line format:
 *   I1126 13:39:04.123456   4242 subnet] Acquired lease 10.244.3.0/24
 * Severity letter, month-day, time with microseconds, pid, component, message.
 * Verbosity follows flanneld's `-v`: `log.v(2).info(...)` prints only when -v >= 2.
 */
export type Severity = 'I' | 'W' | 'E';

export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A logger that prints only when the configured verbosity is at least `level`. */
  v(level: number): Pick<Logger, 'info'>;
  child(component: string): Logger;
  readonly verbosity: number;
}

const silent = { info: () => {} };

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function formatLine(sev: Severity, component: string, msg: string, now: Date, pid: number): string {
  const stamp =
    pad(now.getMonth() + 1, 2) +
    pad(now.getDate(), 2) +
    ' ' +
    pad(now.getHours(), 2) +
    ':' +
    pad(now.getMinutes(), 2) +
    ':' +
    pad(now.getSeconds(), 2) +
    '.' +
    pad(now.getMilliseconds() * 1000, 6);
  return `${sev}${stamp} ${String(pid).padStart(7)} ${component}] ${msg}\n`;
}

export function createLogger(opts: { verbosity?: number; sink?: LogSink; component?: string } = {}): Logger {
  const verbosity = opts.verbosity ?? 0;
  const sink = opts.sink ?? stderrSink;
  const component = opts.component ?? 'flanneld';
  const emit = (sev: Severity, msg: string) => sink.write(formatLine(sev, component, msg, new Date(), process.pid));
  const logger: Logger = {
    verbosity,
    info: (msg) => emit('I', msg),
    warn: (msg) => emit('W', msg),
    error: (msg) => emit('E', msg),
    v: (level) => (verbosity >= level ? { info: (msg: string) => emit('I', msg) } : silent),
    child: (name) => createLogger({ verbosity, sink, component: name }),
  };
  return logger;
}

/** A logger that drops everything: for tests and tools that want quiet. */
export function nullLogger(): Logger {
  return createLogger({ sink: { write: () => {} } });
}
