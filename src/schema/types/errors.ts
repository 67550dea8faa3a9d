// Expected failures as data: each domain error class is an object type implementing `Error`.
import {
  ConflictError,
  Ec2Error,
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
  type DomainError,
  type ErrorCode,
  type FieldError,
} from '../../services/errors.js';
import { builder } from '../builder.js';

const ERROR_CODES = {
  VALIDATION_FAILED: 'The input is invalid (see fieldErrors); nothing was changed',
  INSTANCE_NOT_FOUND: 'No instance with that id or Name tag in the source region',
  INSTANCE_AMBIGUOUS: 'Several instances carry that Name tag; pass the instance id',
  INSTANCE_STATE_INVALID: 'The instance is neither running nor stopped',
  AMI_NAME_TAKEN: 'The account already has an AMI with that name in the region',
  AMI_NOT_FOUND: 'No AMI with that id was created through prism-ami',
  AMI_STATE_INVALID: 'The AMI is not in a state that allows the operation (e.g. not available yet)',
  CREATION_NOT_FOUND: "No creation with that id (or it is another user's)",
  CREATION_FINISHED: 'The creation has already ended',
  PUBLIC_ACCESS_BLOCKED: "The account's block public access for AMIs setting forbids publishing",
  FORBIDDEN: 'The instance, AMI or creation belongs to another user (or its owner tag names someone else)',
  LIMIT_EXCEEDED: 'A per-user limit was reached (for example active creations); the message names it and how to go on',
  EC2_ERROR: 'EC2 refused or failed the request (see ec2Code)',
} as const satisfies Record<ErrorCode, string>;

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Machine-readable reason of an expected failure',
  values: Object.fromEntries(Object.entries(ERROR_CODES).map(([code, description]) => [code, { description }])) as {
    [K in ErrorCode]: { description: string };
  },
});

export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: "Every expected failure is returned as data: a member of the field's result union.",
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong and how to fix it, for a person' }),
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code, description: 'Machine-readable reason' }),
  }),
});

const FieldErrorType = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One invalid input field',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path of the offending input field, e.g. input.tags.3.key' }),
    message: t.exposeString('message', { description: 'Why the value is invalid' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; nothing was changed',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ValidationError,
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorType], resolve: (e) => e.fieldErrors, description: 'Every problem found' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: "The instance, AMI or creation does not exist (or is not the viewer's)",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof NotFoundError,
  fields: () => ({}),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The request conflicts with what exists (a taken AMI name, an ambiguous instance name)',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ConflictError,
  fields: () => ({}),
});

builder.objectType(InvalidStateError, {
  name: 'InvalidStateError',
  description: 'The target is in a state that does not allow the operation',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof InvalidStateError,
  fields: () => ({}),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The viewer may not do this, or an account setting forbids it',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ForbiddenError,
  fields: () => ({}),
});

builder.objectType(Ec2Error, {
  name: 'Ec2Error',
  description: 'EC2 refused or failed the request',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof Ec2Error,
  fields: (t) => ({
    ec2Code: t.string({
      nullable: true,
      resolve: (e) => e.ec2Code,
      description: 'The EC2 error code, e.g. RequestLimitExceeded',
    }),
  }),
});
