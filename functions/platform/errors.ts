/** Base for errors a person can act on; `exitCode` follows CONTRACT.md (1 failed operation, 2 bad usage/input). */
export class TiercastError extends Error {
  readonly exitCode: 1 | 2 = 1;
  readonly code: string = "failed";
}

export class UsageError extends TiercastError {
  override readonly exitCode = 2;
  override readonly code: string = "bad_usage";
}

export class InputError extends TiercastError {
  override readonly exitCode = 2;
  override readonly code: string = "bad_input";
}

export class ConfigError extends InputError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid ${source}: ${problems.join("; ")}`);
  }
}

export class CampaignValidationError extends InputError {
  override readonly code: string = "invalid_campaign";
  constructor(readonly problems: string[]) {
    super(`invalid campaign: ${problems.join("; ")}`);
  }
}

export class NotFoundError extends TiercastError {
  override readonly code: string = "not_found";
}

/** Provider answered with a retryable failure (5xx, throttled). */
export class ProviderRetryableError extends TiercastError {
  override readonly code: string = "provider_retryable";
}

/** The provider's rate was exceeded (429, ThrottlingException): try again later, slower. */
export class ProviderThrottledError extends ProviderRetryableError {
  override readonly code: string = "provider_throttled";
}

/** The request left but no answer came back: the send's outcome is unknown and must not be retried blindly. */
export class ProviderUnknownOutcomeError extends TiercastError {
  override readonly code: string = "provider_unknown";
}

/** Provider refused the message for good (bad number, rejected content). */
export class ProviderPermanentError extends TiercastError {
  override readonly code: string = "provider_permanent";
}

export class WorkflowFailedError extends TiercastError {
  override readonly code: string = "workflow_failed";
}

/** No valid credentials: HTTP 401. */
export class UnauthorizedError extends TiercastError {
  override readonly code: string = "unauthorized";
}

/** Authenticated, but this role, branch or person may not do this: HTTP 403. */
export class ForbiddenError extends TiercastError {
  constructor(
    message: string,
    override readonly code: string = "forbidden",
  ) {
    super(message);
  }
}

/** The request is valid but the resource is in the wrong state for it (e.g. launching an unapproved campaign): HTTP 409. */
export class ConflictError extends TiercastError {
  constructor(
    message: string,
    override readonly code: string = "conflict",
  ) {
    super(message);
  }
}
