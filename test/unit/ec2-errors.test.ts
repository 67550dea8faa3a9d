import { describe, expect, it } from 'vitest';
import { Ec2CallError, isRejection, isTransient, toDomainError } from '../../src/services/ec2/errors.js';

const err = (code: string, status = 400, message = 'details') =>
  new Ec2CallError(code, message, 'CreateImage', 'us-east-1', status);

describe('EC2 errors map to the contract', () => {
  it.each([
    ['InvalidInstanceID.NotFound', 'NotFoundError', 'INSTANCE_NOT_FOUND'],
    ['InvalidInstanceID.Malformed', 'NotFoundError', 'INSTANCE_NOT_FOUND'],
    ['IncorrectInstanceState', 'InvalidStateError', 'INSTANCE_STATE_INVALID'],
    ['InvalidAMIName.Duplicate', 'ConflictError', 'AMI_NAME_TAKEN'],
    ['InvalidAMIID.NotFound', 'NotFoundError', 'AMI_NOT_FOUND'],
    ['InvalidAMIName.Malformed', 'ValidationError', 'VALIDATION_FAILED'],
    ['InvalidParameterValue', 'ValidationError', 'VALIDATION_FAILED'],
    ['UnauthorizedOperation', 'Ec2Error', 'EC2_ERROR'],
    ['RequestLimitExceeded', 'Ec2Error', 'EC2_ERROR'],
    ['SomethingNew', 'Ec2Error', 'EC2_ERROR'],
  ])('%s → %s %s', (code, name, contractCode) => {
    const mapped = toDomainError(err(code));
    expect(mapped.name).toBe(name);
    expect(mapped.code).toBe(contractCode);
    expect(mapped.message).toContain('details');
  });

  it('turns a public-sharing OperationNotPermitted into PUBLIC_ACCESS_BLOCKED naming the setting and the fix', () => {
    const mapped = toDomainError(
      err('OperationNotPermitted', 400, 'block public access for AMIs is enabled; cannot make public'),
    );
    expect(mapped.code).toBe('PUBLIC_ACCESS_BLOCKED');
    expect(mapped.message).toMatch(/disable-image-block-public-access/);
  });

  it('keeps the EC2 code on Ec2Error', () => {
    expect(toDomainError(err('RequestLimitExceeded', 503))).toMatchObject({ ec2Code: 'RequestLimitExceeded' });
  });

  it('tells transient failures (retry later) from rejections (nothing happened)', () => {
    expect(isTransient(err('RequestLimitExceeded', 503))).toBe(true);
    expect(isTransient(err('InternalError', 500))).toBe(true);
    expect(isTransient(new Ec2CallError('ECONNREFUSED', 'down', 'DescribeImages', 'us-east-1', undefined))).toBe(true);
    expect(isRejection(err('InvalidAMIName.Duplicate'))).toBe(true);
    expect(isRejection(err('InternalError', 500))).toBe(false);
    expect(isRejection(new Ec2CallError('ECONNRESET', 'reset', 'CreateImage', 'us-east-1', undefined))).toBe(false);
  });
});
