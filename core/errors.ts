/** Domain errors. Thrown anywhere; mapped to HTTP in exactly one place (api/middleware/errors.ts). */
export type FieldError = { field: string; message: string };

export class DomainError extends Error {
  readonly status: number;
  readonly title: string;
  readonly extra: Record<string, unknown>;
  constructor(status: number, title: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.title = title;
    this.extra = extra;
  }
}

export class InputError extends DomainError {
  readonly errors: FieldError[];
  constructor(message: string, errors: FieldError[] = []) {
    super(400, 'Invalid request', message, { errors });
    this.errors = errors;
  }
}

export class AuthenticationError extends DomainError {
  constructor(message = 'authentication required') {
    super(401, 'Unauthenticated', message);
  }
}

export class NotAllowedError extends DomainError {
  /** `errors` names the field whose value the caller may not use (e.g. params.autoApply). */
  constructor(message = 'not allowed', errors: FieldError[] = []) {
    super(403, 'Forbidden', message, errors.length ? { errors } : {});
  }
}

/** The password was right but an admin set it: it only serves to set the user's own (POST /auth/password/initial). */
export class PasswordChangeRequiredError extends DomainError {
  constructor() {
    super(403, 'Password change required', 'this password was set by an administrator: choose your own to sign in', { passwordChangeRequired: true });
  }
}

export class NotFoundError extends DomainError {
  constructor(message = 'not found') {
    super(404, 'Not found', message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(409, 'Conflict', message, extra);
  }
}

/** An edit made from version `from` of something that has changed since: nothing of it was kept. */
export const staleEdit = (what: string, from: number) =>
  new ConflictError(`the ${what} has changed since version ${from}, which this edit was made from: load it again and redo the change`, { errors: [{ field: 'version', message: 'not the current version' }] });

/** An error the client should retry after `retryAfterSeconds` (sent as Retry-After). */
export abstract class RetryLaterError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(status: number, title: string, message: string, retryAfterSeconds: number) {
    super(status, title, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class RateLimitedError extends RetryLaterError {
  constructor(retryAfterSeconds: number) {
    super(429, 'Too many requests', `rate limit exceeded; retry after ${retryAfterSeconds}s`, retryAfterSeconds);
  }
}

/** A dependency (PostgreSQL, Redis, Temporal) is down or did not answer in time: 503, never a 500 or a hang. */
export class UnavailableError extends RetryLaterError {
  readonly dependency: string;
  constructor(dependency: string, retryAfterSeconds = 5) {
    super(503, 'Service unavailable', `${dependency} is unavailable; retry after ${retryAfterSeconds}s`, retryAfterSeconds);
    this.dependency = dependency;
  }
}

