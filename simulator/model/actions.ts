/** The EC2 actions the simulator implements (the model extract and the action table both use it). */
export const ACTIONS = [
  'DescribeInstances',
  'RunInstances',
  'StopInstances',
  'StartInstances',
  'TerminateInstances',
  'DescribeVolumes',
  'CreateImage',
  'DescribeImages',
  'DescribeSnapshots',
  'CopyImage',
  'DeregisterImage',
  'DeleteSnapshot',
  'ModifySnapshotAttribute',
  'DescribeSnapshotAttribute',
  'CreateTags',
  'DeleteTags',
  'ModifyImageAttribute',
  'DescribeImageAttribute',
  'GetImageBlockPublicAccessState',
  'DescribeRegions',
  'DescribeSubnets',
  'CreateKeyPair',
  'DescribeKeyPairs',
  'DeleteKeyPair',
] as const;

export type Action = (typeof ACTIONS)[number];
