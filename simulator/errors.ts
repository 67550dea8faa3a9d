/**
 * EC2 errors as the simulator raises them. The code and message follow EC2's published error codes;
 * the HTTP status is what EC2 answers (400 for client errors, 503 for throttling), because the SDK's
 * retry strategy looks at both.
 */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

const plural = (ids: readonly string[], one: string, many: string): string =>
  ids.length === 1 ? `${one} '${ids[0]}' does not exist` : `${many} '${ids.join(', ')}' do not exist`;

export const errors = {
  invalidAction: (action: string) =>
    new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`),
  missingParameter: (name: string) =>
    new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`),
  invalidParameterValue: (message: string) => new Ec2Error('InvalidParameterValue', message),
  invalidParameterCombination: (message: string) => new Ec2Error('InvalidParameterCombination', message),
  invalidFilter: (name: string) => new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`),
  invalidPaginationToken: (token: string) =>
    new Ec2Error('InvalidPaginationToken', `Invalid pagination token: ${token}`),
  malformedId: (code: string, id: string, prefix: string) =>
    new Ec2Error(code, `Invalid id: "${id}" (expecting "${prefix}-...")`),
  instanceNotFound: (ids: readonly string[]) =>
    new Ec2Error('InvalidInstanceID.NotFound', plural(ids, 'The instance ID', 'The instance IDs')),
  amiNotFound: (ids: readonly string[]) =>
    new Ec2Error('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`),
  snapshotNotFound: (ids: readonly string[]) =>
    new Ec2Error('InvalidSnapshot.NotFound', plural(ids, 'The snapshot', 'The snapshots') + '.'),
  volumeNotFound: (ids: readonly string[]) =>
    new Ec2Error('InvalidVolume.NotFound', plural(ids, 'The volume', 'The volumes') + '.'),
  incorrectInstanceState: (id: string, state: string, verb: string) =>
    new Ec2Error(
      'IncorrectInstanceState',
      `The instance '${id}' is not in a state from which it can be ${verb} (current state: ${state}).`,
    ),
  unauthorized: () => new Ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403),
  requestLimitExceeded: () => new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503),
  dryRun: () => new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  internal: () => new Ec2Error('InternalError', 'An internal error has occurred', 500),
};
