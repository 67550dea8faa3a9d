// Responsible for turning what EC2 answers into the service's vocabulary: Ec2CallError carries
// EC2's own error code; toDomainError maps it to the contract's error codes.
import {
  ConflictError,
  DomainError,
  Ec2Error,
  ForbiddenError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from '../errors.js';

export class Ec2CallError extends Error {
  constructor(
    /** EC2's error code (e.g. InvalidAMIID.NotFound), or a network error code such as ECONNREFUSED */
    readonly ec2Code: string,
    message: string,
    readonly action: string,
    readonly region: string,
    readonly httpStatus: number | undefined,
  ) {
    super(message);
    this.name = 'Ec2CallError';
  }
}

export const THROTTLING: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError']);

export function isThrottling(err: unknown): boolean {
  return err instanceof Ec2CallError && THROTTLING.has(err.ec2Code);
}

/** Errors worth retrying later: throttling, EC2's 5xx and the network. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Ec2CallError)) return false;
  return (
    THROTTLING.has(err.ec2Code) ||
    NETWORK.has(err.ec2Code) ||
    err.ec2Code === 'NetworkError' ||
    (err.httpStatus !== undefined && err.httpStatus >= 500)
  );
}

/** The request definitely did not change anything (EC2 rejected it as a client error). */
export function isRejection(err: unknown): boolean {
  return err instanceof Ec2CallError && !isTransient(err) && err.httpStatus !== undefined && err.httpStatus < 500;
}

/**
 * CopyImage refused for EC2's limit of concurrent copies to the destination region: the copy waits
 * for a slot. Neither a rejection (nothing is wrong with the request) nor throttling (the region
 * answers other calls).
 */
export function isCopyLimit(err: unknown): boolean {
  return err instanceof Ec2CallError && err.ec2Code === 'ResourceLimitExceeded';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof Ec2CallError && /\.NotFound$/.test(err.ec2Code);
}

/**
 * DeregisterImage refused because the image's deregistration protection is on. EC2's API model
 * names no error code of its own for this: the refusal is a client error whose message names the
 * protection (OperationNotPermitted is what a refused DeregisterImage answers), so both are read.
 */
export function isDeregistrationProtected(err: unknown): boolean {
  if (!(err instanceof Ec2CallError) || isTransient(err)) return false;
  if (/deregistration protection/i.test(err.message)) return true;
  return err.action === 'DeregisterImage' && err.ec2Code === 'OperationNotPermitted';
}

/** Map an EC2 failure to the contract's typed errors; DomainErrors pass through. */
export function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (!(err instanceof Ec2CallError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new Ec2Error(`EC2 request failed: ${message}`, null);
  }
  const launch = err.action === 'RunInstances' ? toLaunchError(err) : undefined;
  if (launch) return launch;
  const { ec2Code: code, message } = err;
  switch (code) {
    case 'InvalidInstanceID.NotFound':
    case 'InvalidInstanceID.Malformed':
      return new NotFoundError('INSTANCE_NOT_FOUND', `Instance not found: ${message}`);
    case 'IncorrectInstanceState':
      return new InvalidStateError('INSTANCE_STATE_INVALID', `The instance cannot be imaged in its current state: ${message}`);
    case 'InvalidAMIName.Duplicate':
      return new ConflictError('AMI_NAME_TAKEN', `An AMI with this name already exists in ${err.region}: ${message}`);
    case 'InvalidAMIID.NotFound':
    case 'InvalidAMIID.Malformed':
    case 'InvalidAMIID.Unavailable':
      return new NotFoundError('AMI_NOT_FOUND', `AMI not found in ${err.region}: ${message}`);
    case 'InvalidAMIName.Malformed':
    case 'InvalidParameterValue':
    case 'InvalidParameter':
    case 'InvalidParameterCombination':
    case 'MissingParameter':
    case 'InvalidRegion':
    case 'InvalidTagKey.Malformed':
    case 'TagLimitExceeded':
      return new ValidationError([{ path: 'input', message: `EC2 rejected the request (${code}): ${message}` }]);
    case 'OperationNotPermitted':
      if (/public/i.test(message)) {
        return new ForbiddenError('PUBLIC_ACCESS_BLOCKED', publicAccessBlockedMessage(err.region));
      }
      return new Ec2Error(`EC2 did not permit the operation in ${err.region}: ${message}`, code);
    case 'UnauthorizedOperation':
    case 'AuthFailure':
      return new Ec2Error(
        `EC2 refused the request (${code}) in ${err.region}: check the IAM permissions of the server's AWS credentials (${err.action} is needed). ${message}`,
        code,
      );
    default:
      if (THROTTLING.has(code)) {
        return new Ec2Error(`EC2 is throttling requests in ${err.region}; try again in a minute. (${message})`, code);
      }
      return new Ec2Error(`EC2 ${err.action} failed in ${err.region} (${code}): ${message}`, code);
  }
}

/**
 * RunInstances' own refusals: a subnet or key pair the account lacks is the caller's field to fix;
 * limits, capacity and an instance type EC2 will not run here are EC2's answer, each with its way out.
 */
function toLaunchError(err: Ec2CallError): DomainError | undefined {
  const { ec2Code: code, message, region } = err;
  switch (code) {
    case 'InvalidSubnetID.NotFound':
    case 'InvalidSubnetID.Malformed':
      return new ValidationError([
        { path: 'input.subnetId', message: `no such subnet in ${region} (${message}); omit it to use the default subnet` },
      ]);
    case 'InvalidKeyPair.NotFound':
    case 'InvalidKeyPair.Format':
      return new ValidationError([
        {
          path: 'input.keyName',
          message: `no key pair of that name in ${region} (${message}); create or import it there first, or omit it`,
        },
      ]);
    case 'InstanceLimitExceeded':
    case 'VcpuLimitExceeded':
      return new Ec2Error(
        `The account's instance limit in ${region} is reached (${message}); terminate an instance or request a higher limit (Service Quotas → EC2).`,
        code,
      );
    case 'InsufficientInstanceCapacity':
      return new Ec2Error(
        `EC2 has no capacity for this instance type in ${region} now (${message}); try another instance type or subnet (availability zone), or retry later.`,
        code,
      );
    case 'Unsupported':
      return new Ec2Error(
        `EC2 does not offer this instance type there (${message}); choose another instance type, or a subnet in another availability zone.`,
        code,
      );
    case 'InvalidParameterValue':
      if (!/instance ?type|architecture/i.test(message)) return undefined;
      return new Ec2Error(
        `EC2 cannot launch this instance type from this AMI in ${region} (${message}); choose an instance type that exists there and matches the AMI's architecture (e.g. t3.micro for x86_64, t4g.micro for arm64).`,
        code,
      );
    default:
      return undefined;
  }
}

export function publicAccessBlockedMessage(region: string): string {
  return (
    `Public sharing of AMIs is blocked in ${region} by the account's "block public access for AMIs" setting. ` +
    `An account administrator can turn it off in the EC2 console (EC2 Dashboard → Account attributes → Data protection and security) ` +
    `or with "aws ec2 disable-image-block-public-access --region ${region}"; nothing was changed.`
  );
}
