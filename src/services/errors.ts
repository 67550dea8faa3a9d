// Responsible for the expected failures of the service: each is a class the schema turns into a
// member of a result union (via @pothos/plugin-errors). Anything else thrown is a bug and is masked.

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'INSTANCE_NOT_FOUND'
  | 'INSTANCE_AMBIGUOUS'
  | 'INSTANCE_STATE_INVALID'
  | 'AMI_NAME_TAKEN'
  | 'AMI_NOT_FOUND'
  | 'CREATION_NOT_FOUND'
  | 'CREATION_FINISHED'
  | 'AMI_STATE_INVALID'
  | 'PUBLIC_ACCESS_BLOCKED'
  | 'FORBIDDEN'
  | 'LIMIT_EXCEEDED'
  | 'EC2_ERROR';

export interface FieldError {
  /** Dotted path of the offending input field, e.g. input.tags.3.key */
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED' as const;
  constructor(
    readonly fieldErrors: FieldError[],
    message = summarize(fieldErrors),
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  constructor(
    readonly code: 'INSTANCE_NOT_FOUND' | 'AMI_NOT_FOUND' | 'CREATION_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  constructor(
    readonly code: 'AMI_NAME_TAKEN' | 'INSTANCE_AMBIGUOUS',
    message: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class InvalidStateError extends DomainError {
  constructor(
    readonly code: 'INSTANCE_STATE_INVALID' | 'CREATION_FINISHED' | 'AMI_STATE_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

export class ForbiddenError extends DomainError {
  constructor(
    readonly code: 'FORBIDDEN' | 'PUBLIC_ACCESS_BLOCKED' | 'LIMIT_EXCEEDED',
    message: string,
  ) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class Ec2Error extends DomainError {
  readonly code = 'EC2_ERROR' as const;
  constructor(
    message: string,
    /** The EC2 error code, e.g. RequestLimitExceeded */
    readonly ec2Code: string | null,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

/**
 * A dependency shared by replicas (the event bus) is away for now: not a bug, so the client sees
 * this message and code (and may retry) instead of a masked "Unexpected error".
 */
export class UnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

function summarize(fieldErrors: FieldError[]): string {
  if (fieldErrors.length === 0) return 'The input is invalid';
  const first = fieldErrors[0]!;
  const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : '';
  return `Invalid input: ${first.path}: ${first.message}${more}`;
}
