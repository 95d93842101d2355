// The error taxonomy of SPEC §2, in one place.
//
// Every failure a user can cause is a BookijiError with a stable code, a
// one-line message, a hint and a retryable flag. The database raises its own
// SQLSTATEs (class BK, see migrations) and `toBookijiError` maps them here;
// the CLI maps codes to exit codes in `exitCodeFor`, the HTTP layer to
// statuses through `httpStatus`. Nothing else decides either.

export type ErrorCode =
  | 'BOOKING_CONFLICT'
  | 'SLOT_NOT_FOUND'
  | 'BOOKING_NOT_FOUND'
  | 'VENDOR_NOT_FOUND'
  | 'CUSTOMER_NOT_FOUND'
  | 'RESERVATION_NOT_FOUND'
  | 'PAYMENT_NOT_FOUND'
  | 'VALIDATION_ERROR'
  | 'PAST_SLOT'
  | 'HOLD_EXPIRED'
  | 'HOLD_LIMIT_REACHED'
  | 'PAYMENT_REQUIRED'
  | 'PAYMENT_FAILED'
  | 'IDEMPOTENCY_MISMATCH'
  | 'INVALID_TRANSITION'
  | 'VERSION_CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'CLOCK_LOCKED'
  | 'MIGRATION_ERROR'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'VERIFICATION_FAILED'
  | 'USAGE_ERROR'
  | 'INTERNAL_ERROR';

interface ErrorSpec {
  httpStatus: number;
  retryable: boolean;
  hint: string;
}

const SPECS: Record<ErrorCode, ErrorSpec> = {
  BOOKING_CONFLICT: { httpStatus: 409, retryable: false, hint: "The slot or the vendor's time is already taken; pick another slot." },
  SLOT_NOT_FOUND: { httpStatus: 404, retryable: false, hint: 'Check the slot id with `bookiji slot list --vendor V`.' },
  BOOKING_NOT_FOUND: { httpStatus: 404, retryable: false, hint: 'Check the booking id; `bookiji forensics` also accepts slot ids.' },
  VENDOR_NOT_FOUND: { httpStatus: 404, retryable: false, hint: 'Check the vendor id with `bookiji vendor list`.' },
  CUSTOMER_NOT_FOUND: { httpStatus: 404, retryable: false, hint: 'Check the customer id with `bookiji customer list`.' },
  RESERVATION_NOT_FOUND: { httpStatus: 404, retryable: false, hint: 'Check the reservation id.' },
  PAYMENT_NOT_FOUND: { httpStatus: 404, retryable: false, hint: "Check the payment id; `bookiji forensics BOOKING_ID` lists a booking's payments." },
  VALIDATION_ERROR: { httpStatus: 400, retryable: false, hint: 'Fix the named field and try again.' },
  PAST_SLOT: { httpStatus: 400, retryable: false, hint: "The slot starts at or before the database's current time; pick a later slot." },
  HOLD_EXPIRED: { httpStatus: 409, retryable: false, hint: "The hold's time to live passed; place a new hold." },
  HOLD_LIMIT_REACHED: {
    httpStatus: 429,
    retryable: false,
    hint: 'This customer already holds the maximum number of unexpired holds; confirm or cancel one first.',
  },
  PAYMENT_REQUIRED: { httpStatus: 402, retryable: false, hint: 'Only a payment verified with the payment provider confirms a paid booking.' },
  PAYMENT_FAILED: { httpStatus: 402, retryable: false, hint: 'The payment provider declined the payment; try another payment method.' },
  IDEMPOTENCY_MISMATCH: { httpStatus: 422, retryable: false, hint: 'An idempotency key may only be reused with the exact same request; use a new key.' },
  INVALID_TRANSITION: { httpStatus: 409, retryable: false, hint: "The booking's current state does not allow this; see `bookiji booking show`." },
  VERSION_CONFLICT: { httpStatus: 409, retryable: false, hint: 'The booking changed since you read it; read it again and retry with the new version.' },
  RATE_LIMITED: { httpStatus: 429, retryable: true, hint: 'Too many requests; wait and retry.' },
  UNAUTHORIZED: { httpStatus: 401, retryable: false, hint: 'Send a valid API key in the Authorization header.' },
  CLOCK_LOCKED: { httpStatus: 403, retryable: false, hint: 'Only a database created for simulation lets its clock be moved.' },
  MIGRATION_ERROR: { httpStatus: 500, retryable: false, hint: 'An applied migration was edited or failed; see `bookiji db status`.' },
  DEPENDENCY_UNAVAILABLE: {
    httpStatus: 503,
    retryable: true,
    hint: 'The database or the payment provider is unreachable; retry shortly (`bookiji db status`).',
  },
  VERIFICATION_FAILED: { httpStatus: 500, retryable: false, hint: 'A consistency check found a violation; the report names it.' },
  USAGE_ERROR: { httpStatus: 400, retryable: false, hint: "See `--help` for the command's options." },
  INTERNAL_ERROR: { httpStatus: 500, retryable: false, hint: 'Rerun with --debug and report the stack trace.' },
};

export class BookijiError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly retryable: boolean;
  readonly httpStatus: number;
  /** Extra facts for scripts (the field that failed, the slot, the limit). */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'BookijiError';
    this.code = code;
    this.hint = options.hint ?? SPECS[code].hint;
    this.retryable = SPECS[code].retryable;
    this.httpStatus = SPECS[code].httpStatus;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; retryable: boolean; details?: Record<string, unknown> } {
    const body = { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
    return Object.keys(this.details).length > 0 ? { ...body, details: this.details } : body;
  }
}

export function validationError(field: string, problem: string): BookijiError {
  return new BookijiError('VALIDATION_ERROR', `${field}: ${problem}`, { details: { field } });
}

// Our PL/pgSQL raises SQLSTATEs of class "BK"; the message is ours already.
const SQLSTATE_TO_CODE: Record<string, ErrorCode> = {
  BK001: 'BOOKING_CONFLICT',
  BK002: 'SLOT_NOT_FOUND',
  BK003: 'BOOKING_NOT_FOUND',
  BK004: 'VENDOR_NOT_FOUND',
  BK005: 'CUSTOMER_NOT_FOUND',
  BK006: 'VALIDATION_ERROR',
  BK007: 'PAST_SLOT',
  BK008: 'HOLD_EXPIRED',
  BK009: 'PAYMENT_REQUIRED',
  BK010: 'IDEMPOTENCY_MISMATCH',
  BK011: 'INVALID_TRANSITION',
  BK012: 'VERSION_CONFLICT',
  BK013: 'CLOCK_LOCKED',
  BK014: 'HOLD_LIMIT_REACHED',
  BK015: 'RESERVATION_NOT_FOUND',
  BK016: 'RATE_LIMITED',
};

// PostgreSQL's own constraint classes that a user's request can trip. The
// exclusion constraint (23P01) is the vendor-time guard; unique (23505) on the
// booking path is a lost race. Both are conflicts, not internal errors.
const CONSTRAINT_SQLSTATES: Record<string, ErrorCode> = {
  '23P01': 'BOOKING_CONFLICT',
  '23505': 'BOOKING_CONFLICT',
  '23514': 'VALIDATION_ERROR',
  '22P02': 'VALIDATION_ERROR',
  '22007': 'VALIDATION_ERROR',
  '22008': 'VALIDATION_ERROR',
  '23503': 'VALIDATION_ERROR',
  '22001': 'VALIDATION_ERROR',
  '22023': 'VALIDATION_ERROR',
};

// Serialization failures and deadlocks that outlived withTransaction's
// retries: the request did nothing and may be retried.
const CONTENTION_SQLSTATES = new Set(['40001', '40P01']);

// Connection-level failures: the server went away, refused us, or timed out.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300', '57014', '55P03']);
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  constraint?: string;
}

/** Maps any error (pg's, our SQL's, a BookijiError already) to a BookijiError; keeps the original as `cause`. */
export function toBookijiError(error: unknown): BookijiError {
  if (error instanceof BookijiError) return error;
  const pgError = (error ?? {}) as PgLikeError;
  const sqlState = pgError.code ?? '';
  const message = pgError.message ?? String(error);
  const known = SQLSTATE_TO_CODE[sqlState];
  if (known) {
    const details = pgError.detail ? parseDetail(pgError.detail) : {};
    return new BookijiError(known, message, { cause: error, details, ...reservationHint(known, details) });
  }
  const constraintCode = CONSTRAINT_SQLSTATES[sqlState];
  if (constraintCode) {
    const what = pgError.constraint ? ` (${pgError.constraint})` : '';
    return new BookijiError(constraintCode, `${message}${what}`, { cause: error, details: pgError.constraint ? { constraint: pgError.constraint } : {} });
  }
  if (CONTENTION_SQLSTATES.has(sqlState)) {
    return new BookijiError('DEPENDENCY_UNAVAILABLE', `database too contended to finish the request: ${message}`, {
      cause: error,
      hint: 'Nothing was changed; retry the request.',
    });
  }
  if (UNAVAILABLE_SQLSTATES.has(sqlState) || UNAVAILABLE_NODE_CODES.has(sqlState) || isConnectionLoss(message)) {
    return new BookijiError('DEPENDENCY_UNAVAILABLE', `database unavailable: ${message}`, { cause: error });
  }
  return new BookijiError('INTERNAL_ERROR', message, { cause: error });
}

// A refusal that names a reservation (its booking is paid, confirmed and
// moved only through it; a stage the machine does not allow) points at the
// reservation, not at the booking's generic view.
function reservationHint(code: ErrorCode, details: Record<string, unknown>): { hint?: string } {
  const reservationId = details.reservation_id;
  if (code !== 'INVALID_TRANSITION' || typeof reservationId !== 'string') return {};
  return { hint: `See the reservation's state, payments and history: \`bookiji reservation show ${reservationId}\`.` };
}

function isConnectionLoss(message: string): boolean {
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection|server closed the connection/i.test(
    message,
  );
}

// Our SQL puts machine-readable facts in DETAIL as JSON when it has them.
function parseDetail(detail: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(detail);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { detail };
  } catch {
    return { detail };
  }
}

// Statuses the HTTP edge may use instead of the taxonomy's, for failures that
// are about HTTP itself: an unknown path, a wrong method, an oversized body.
const EDGE_HTTP_STATUSES = new Set([404, 405, 413]);

/** The HTTP status of an error: its taxonomy status, or the edge's own (details.httpStatus 404/405/413). */
export function httpStatusOf(error: BookijiError): number {
  const edge = error.details.httpStatus;
  return typeof edge === 'number' && EDGE_HTTP_STATUSES.has(edge) ? edge : error.httpStatus;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; hint: string; retryable: boolean; field?: string };
}

/**
 * The one way an error leaves over HTTP: any error (ours, pg's, a
 * framework's already mapped) becomes a BookijiError, with its status and
 * the body of SPEC §2 plus the field at fault. The original stays as `cause`.
 */
export function httpErrorOf(caught: unknown): { error: BookijiError; status: number; body: ErrorBody } {
  const error = toBookijiError(caught);
  const field = typeof error.details.field === 'string' ? { field: error.details.field } : {};
  const body: ErrorBody = { error: { code: error.code, message: error.message, hint: error.hint, retryable: error.retryable, ...field } };
  return { error, status: httpStatusOf(error), body };
}

/** Exit codes of SPEC §2: 0 success, 1 the operation failed or a check found a violation, 2 usage error. */
export function exitCodeFor(error: unknown): 1 | 2 {
  if (error instanceof BookijiError && (error.code === 'USAGE_ERROR' || error.code === 'VALIDATION_ERROR')) return 2;
  return 1;
}
