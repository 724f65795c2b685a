/**
 * Structured JSON logs, one object per line on stderr (stdout carries command output).
 * Stable keys: time, level, msg, then action, path, unit, flavour, reason, code as they apply.
 * Callers pass only paths, names and reasons: credentials never reach a log call.
 */
export type LogFields = Readonly<
  Record<string, string | number | boolean | null | readonly string[]>
>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export function jsonLogger(write: (line: string) => void, base: LogFields = {}): Logger {
  const emit = (level: string, msg: string, fields: LogFields = {}): void => {
    write(
      `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields })}\n`,
    );
  };
  return {
    info: (msg, fields) => {
      emit("info", msg, fields);
    },
    warn: (msg, fields) => {
      emit("warn", msg, fields);
    },
    error: (msg, fields) => {
      emit("error", msg, fields);
    },
  };
}
