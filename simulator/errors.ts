/**
 * An EC2 API fault as the simulator answers it, in EC2's error XML. The code and message follow
 * EC2's published error codes; the HTTP status is what EC2 answers (400 for client errors, 503 for
 * throttling), because the SDK's retry strategy looks at both.
 */
export class Ec2ApiFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2ApiFault';
  }
}

const plural = (ids: readonly string[], one: string, many: string): string =>
  ids.length === 1 ? `${one} '${ids[0]}' does not exist` : `${many} '${ids.join(', ')}' do not exist`;

export const errors = {
  invalidAction: (action: string) => new Ec2ApiFault('InvalidAction', `The action ${action} is not valid for this web service.`),
  missingParameter: (name: string) => new Ec2ApiFault('MissingParameter', `The request must contain the parameter ${name}`),
  invalidParameterValue: (message: string) => new Ec2ApiFault('InvalidParameterValue', message),
  invalidParameterCombination: (message: string) => new Ec2ApiFault('InvalidParameterCombination', message),
  invalidFilter: (name: string) => new Ec2ApiFault('InvalidParameterValue', `The filter '${name}' is invalid`),
  invalidPaginationToken: (token: string) => new Ec2ApiFault('InvalidPaginationToken', `Invalid pagination token: ${token}`),
  malformedId: (code: string, id: string, prefix: string) =>
    new Ec2ApiFault(code, `Invalid id: "${id}" (expecting "${prefix}-...")`),
  instanceNotFound: (ids: readonly string[]) =>
    new Ec2ApiFault('InvalidInstanceID.NotFound', plural(ids, 'The instance ID', 'The instance IDs')),
  amiNotFound: (ids: readonly string[]) =>
    new Ec2ApiFault('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`),
  snapshotNotFound: (ids: readonly string[]) =>
    new Ec2ApiFault('InvalidSnapshot.NotFound', plural(ids, 'The snapshot', 'The snapshots') + '.'),
  volumeNotFound: (ids: readonly string[]) =>
    new Ec2ApiFault('InvalidVolume.NotFound', plural(ids, 'The volume', 'The volumes') + '.'),
  incorrectInstanceState: (id: string, state: string, verb: string) =>
    new Ec2ApiFault(
      'IncorrectInstanceState',
      `The instance '${id}' is not in a state from which it can be ${verb} (current state: ${state}).`,
    ),
  unauthorized: () => new Ec2ApiFault('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403),
  copyLimitExceeded: (limit: number, region: string) =>
    new Ec2ApiFault(
      'ResourceLimitExceeded',
      `You have reached the maximum number of concurrent AMI copies (${limit}) to ${region}. Wait for a copy in progress to complete, then try again.`,
    ),
  encryptedNotPublic: () =>
    new Ec2ApiFault('UnsupportedOperation', "Encrypted snapshots can't be shared publicly. Specify another snapshot."),
  managedKeyNotShareable: () =>
    new Ec2ApiFault(
      'InvalidParameter',
      "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
    ),
  deregistrationProtected: (id: string) =>
    new Ec2ApiFault(
      'OperationNotPermitted',
      `The image ${id} can't be deregistered because deregistration protection is enabled for it. To deregister it, first disable deregistration protection (DisableImageDeregistrationProtection); with a cooldown, it stays protected for 24 hours after that.`,
    ),
  requestLimitExceeded: () => new Ec2ApiFault('RequestLimitExceeded', 'Request limit exceeded.', 503),
  dryRun: () => new Ec2ApiFault('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  internal: () => new Ec2ApiFault('InternalError', 'An internal error has occurred', 500),
};
