import { pino, stdTimeFunctions } from "pino";
import type { LogFields } from "./core/report/sync-effects.ts";

/**
 * Structured JSON logs (pino), one object per line on stderr (stdout carries command output):
 * `{"level":"info","time":"<ISO 8601>", ...base, ...fields, "msg":"..."}`. Stable keys: time,
 * level, msg, then action, path, unit, flavour, reason, code as they apply.
 * Callers pass only paths, names and reasons: credentials never reach a log call. As a second
 * line of defence, fields that would carry one (password, auth, token, identitytoken,
 * .dockerconfigjson) are censored whatever passes them.
 */
export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const censored = ["password", "auth", "token", "identitytoken", '[".dockerconfigjson"]'];

export function jsonLogger(write: (line: string) => void, base: LogFields = {}): Logger {
  const logger = pino(
    {
      base,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Log fields are flat (LogFields), so top-level paths suffice.
      redact: { paths: censored, censor: "[redacted]" },
    },
    { write },
  );
  return {
    info: (msg, fields = {}) => {
      logger.info(fields, msg);
    },
    warn: (msg, fields = {}) => {
      logger.warn(fields, msg);
    },
    error: (msg, fields = {}) => {
      logger.error(fields, msg);
    },
  };
}
