/**
 * An SSM API fault as the simulator answers it: AWS JSON 1.1's error body
 * (`{"__type":"ParameterNotFound","message":"…"}`) with SSM's code and HTTP 400 for client errors.
 */
export class SsmApiFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SsmApiFault';
  }
}

// SSM's own sentence for a name it refuses (prefix or characters), as it words it.
const INVALID_NAME =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

export const ssmErrors = {
  validation: (message: string) => new SsmApiFault('ValidationException', message),
  invalidName: () => new SsmApiFault('ValidationException', INVALID_NAME),
  alreadyExists: () =>
    new SsmApiFault(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    ),
  notFound: (name: string) => new SsmApiFault('ParameterNotFound', `Parameter ${name} not found.`),
  unknownOperation: (target: string) => new SsmApiFault('UnknownOperationException', `Unknown operation ${target}.`),
  serialization: () => new SsmApiFault('SerializationException', 'The request body is not valid JSON.'),
  throttling: () => new SsmApiFault('ThrottlingException', 'Rate exceeded'),
  internal: () => new SsmApiFault('InternalServerError', 'An internal error has occurred', 500),
};
