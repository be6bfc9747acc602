/** The part of a pino logger the usage module needs, so tests can pass a plain recorder of calls. */
export interface UsageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: UsageLogger = { info() {}, warn() {}, error() {} };
