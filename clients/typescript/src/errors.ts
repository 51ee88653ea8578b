// Typed errors from the service's envelope `{error, message, details, status_code}`; a 422
// keeps FastAPI's `{detail: [...]}` list as `ValidationError.detail`.
import type { ValidationIssue } from "./types.js";

export class MechaMentalError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly requestId: string | null;
  readonly body: unknown;
  /** Seconds the server asked to wait (`Retry-After` on 429 and 503), or null. */
  readonly retryAfter: number | null;
  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string | null;
    body?: unknown;
    retryAfter?: number | null;
  }) {
    super(init.message);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
    this.body = init.body;
    const hinted = this.details["retry_after_seconds"];
    this.retryAfter = init.retryAfter ?? (typeof hinted === "number" ? hinted : null);
  }
}
/** 422: the request did not match the schema; `detail` is FastAPI's list. */
export class ValidationError extends MechaMentalError {
  readonly detail: ValidationIssue[];
  constructor(init: ConstructorParameters<typeof MechaMentalError>[0] & { detail: ValidationIssue[] }) {
    super(init);
    this.detail = init.detail;
  }
}
/** 412: `If-Match` named an older version (someone changed it since your read). */
export class ConflictError extends MechaMentalError {}
export class AuthenticationError extends MechaMentalError {}
export class ForbiddenError extends MechaMentalError {}
export class NotFoundError extends MechaMentalError {}
/** 429: a rate limit or the stream cap; `retryAfter` says when to try again. */
export class RateLimitError extends MechaMentalError {}
/** The server could not be reached (no HTTP answer). */
export class NetworkError extends MechaMentalError {}

const CLASSES: Record<number, typeof MechaMentalError> = {
  401: AuthenticationError,
  403: ForbiddenError,
  404: NotFoundError,
  412: ConflictError,
  429: RateLimitError,
};

/** `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null if absent. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}

export async function errorFrom(response: Response): Promise<MechaMentalError> {
  const requestId = response.headers.get("x-request-id");
  const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
  const text = await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  const status = response.status;
  const obj = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (status === 422 && Array.isArray(obj["detail"])) {
    const detail = obj["detail"] as ValidationIssue[];
    const message = detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ");
    return new ValidationError({ status, code: "VALIDATION_ERROR", message, requestId, body, detail, retryAfter });
  }
  const code = typeof obj["error"] === "string" ? obj["error"] : `HTTP_${status}`;
  const message = typeof obj["message"] === "string" ? obj["message"] : response.statusText || code;
  const details = (typeof obj["details"] === "object" && obj["details"] !== null
    ? obj["details"]
    : {}) as Record<string, unknown>;
  const Class = CLASSES[status] ?? MechaMentalError;
  return new Class({ status, code, message, details, requestId, body, retryAfter });
}
