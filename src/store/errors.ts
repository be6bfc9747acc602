import { StoreError } from "./store.ts";

/** What a failed constraint means to the caller of one method. */
export interface ConstraintMessages {
  /** A unique constraint failed. */
  duplicate?: string;
  /** A foreign key pointed at a row that does not exist. */
  missing?: string;
}

export function duplicate(messages: ConstraintMessages, cause: unknown): StoreError {
  return new StoreError("duplicate", messages.duplicate ?? `already exists: ${reason(cause)}`);
}

export function missing(messages: ConstraintMessages, cause: unknown): StoreError {
  return new StoreError("not_found", messages.missing ?? `not found: ${reason(cause)}`);
}

export function notFound(what: string): StoreError {
  return new StoreError("not_found", `${what} not found`);
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An allowlist with no models would read back as "every model"; refuse it rather than widen access. */
export function assertModelList(models: string[] | null): void {
  if (models !== null && models.length === 0) {
    throw new RangeError("an empty model allowlist is not allowed; pass null to allow every model");
  }
}
