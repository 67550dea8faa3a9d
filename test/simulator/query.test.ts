import { describe, expect, it } from 'vitest';
import { decodeInput } from '../../simulator/query.js';

const decode = (shape: string, params: Record<string, string>) => decodeInput(new Map(Object.entries(params)), shape);

describe('EC2 query decoding', () => {
  it('decodes filters, id lists, owners and integers by the model', () => {
    expect(
      decode('DescribeImagesRequest', {
        'Filter.1.Name': 'tag:team',
        'Filter.1.Value.1': 'a',
        'Filter.1.Value.2': 'b',
        'Filter.2.Name': 'state',
        'Filter.2.Value.1': 'pending',
        'ImageId.1': 'ami-1',
        'Owner.1': 'self',
        'ExecutableBy.1': 'all',
        MaxResults: '10',
      }),
    ).toEqual({
      Filters: [
        { Name: 'tag:team', Values: ['a', 'b'] },
        { Name: 'state', Values: ['pending'] },
      ],
      ImageIds: ['ami-1'],
      Owners: ['self'],
      ExecutableUsers: ['all'],
      MaxResults: 10,
    });
  });

  it('orders list members by index, not by parameter order', () => {
    expect(decode('DescribeImagesRequest', { 'ImageId.2': 'second', 'ImageId.10': 'tenth', 'ImageId.1': 'first' })).toEqual({
      ImageIds: ['first', 'second', 'tenth'],
    });
  });

  it('decodes nested TagSpecifications and booleans with capitalised locationNames', () => {
    expect(
      decode('CreateImageRequest', {
        InstanceId: 'i-1',
        Name: 'n',
        NoReboot: 'true',
        'TagSpecification.1.ResourceType': 'image',
        'TagSpecification.1.Tag.1.Key': 'k',
        'TagSpecification.1.Tag.1.Value': 'v',
      }),
    ).toEqual({
      InstanceId: 'i-1',
      Name: 'n',
      NoReboot: true,
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'k', Value: 'v' }] }],
    });
  });

  it('decodes both launch permission forms of ModifyImageAttribute', () => {
    expect(
      decode('ModifyImageAttributeRequest', {
        ImageId: 'ami-1',
        'LaunchPermission.Add.1.Group': 'all',
        'LaunchPermission.Remove.1.UserId': '123456789012',
        'UserId.1': '210987654321',
        'UserGroup.1': 'all',
        OperationType: 'add',
        Attribute: 'launchPermission',
      }),
    ).toEqual({
      ImageId: 'ami-1',
      LaunchPermission: { Add: [{ Group: 'all' }], Remove: [{ UserId: '123456789012' }] },
      UserIds: ['210987654321'],
      UserGroups: ['all'],
      OperationType: 'add',
      Attribute: 'launchPermission',
    });
  });

  it('keeps an empty tag value apart from an absent one (DeleteTags depends on it)', () => {
    expect(
      decode('DeleteTagsRequest', { 'ResourceId.1': 'ami-1', 'Tag.1.Key': 'a', 'Tag.1.Value': '', 'Tag.2.Key': 'b' }),
    ).toEqual({
      Resources: ['ami-1'],
      Tags: [{ Key: 'a', Value: '' }, { Key: 'b' }],
    });
  });

  it('reports a missing required member by its wire name and a bad integer as InvalidParameterValue', () => {
    expect(() => decode('CopyImageRequest', { SourceRegion: 'us-east-1', Name: 'x' })).toThrow(
      'The request must contain the parameter SourceImageId',
    );
    expect(() => decode('DescribeImagesRequest', { MaxResults: 'ten' })).toThrow(
      expect.objectContaining({ code: 'InvalidParameterValue' }),
    );
  });
});
