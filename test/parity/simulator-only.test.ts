// EC2's documented behaviour where moto does not model it (DESIGN.md §3 lists the gaps), so the
// scenario runs against the simulator alone; each title says which gap. Shapes follow botocore's
// EC2 model and error codes the EC2 API error reference, through the real SDK.
import {
  CopyImageCommand,
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  GetImageBlockPublicAccessStateCommand,
  ModifyImageAttributeCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { SEEDED_INSTANCES, type SimulatorOptions } from '../../simulator/index.js';
import {
  expectEc2Error,
  launch,
  snapshotIdsOf,
  startSimulatorBackend,
  tagMap,
  UNKNOWN,
  waitForImage,
  waitForInstance,
  type Backend,
} from './backends.js';

const DEMO = SEEDED_INSTANCES['demo-workstation']; // running, 30 GiB
const GENOMICS = SEEDED_INSTANCES['genomics-pipeline']; // running, 50 + 200 GiB
const TEACHING = SEEDED_INSTANCES['teaching-env']; // stopped, 16 GiB

let b: Backend | undefined;
afterEach(async () => {
  await b?.stop();
  b = undefined;
});

/** A fresh simulator at 1 GiB/s whose clock moves only with `elapse`. */
async function simulator(options: SimulatorOptions = {}): Promise<Backend> {
  b = await startSimulatorBackend(options);
  return b;
}

async function createImage(sim: Backend, instanceId: string, name: string): Promise<string> {
  const out = await sim.ec2().send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  return out.ImageId ?? '';
}

async function describeImage(sim: Backend, id: string, region = 'us-east-1') {
  const out = await sim.ec2(region).send(new DescribeImagesCommand({ ImageIds: [id] }));
  expect(out.Images).toHaveLength(1);
  return out.Images![0]!;
}

describe('[simulator only: moto makes images available and snapshots 100% at once] the image lifecycle', () => {
  it('answers CreateImage with a pending image whose snapshot progress climbs with time, and turns it available when the snapshot completes', async () => {
    const sim = await simulator({ speedGiBPerSecond: 1 });
    const imageId = await createImage(sim, DEMO, 'progressing image');
    const pending = await describeImage(sim, imageId);
    expect(pending.State).toBe('pending');
    const [snapshotId = ''] = snapshotIdsOf(pending);
    const snapshot = async () =>
      (await sim.ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots![0]!;

    expect(await snapshot()).toMatchObject({ State: 'pending', Progress: '0%', VolumeSize: 30 });
    expect((await snapshot()).CompletionTime).toBeUndefined();
    const pendingOwn = await sim
      .ec2()
      .send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'state', Values: ['pending'] }] }));
    expect(pendingOwn.Images?.map((i) => i.ImageId)).toEqual([imageId]);

    sim.elapse(9); // 9 of 30 GiB
    expect(await snapshot()).toMatchObject({ State: 'pending', Progress: '30%' });
    sim.elapse(15); // 24 of 30 GiB
    expect(await snapshot()).toMatchObject({ State: 'pending', Progress: '80%' });
    expect((await describeImage(sim, imageId)).State).toBe('pending');

    sim.elapse(6);
    const done = await snapshot();
    expect(done).toMatchObject({ State: 'completed', Progress: '100%' });
    expect(done.CompletionTime).toBeInstanceOf(Date);
    expect((await describeImage(sim, imageId)).State).toBe('available');
  });

  it('keeps an image of two volumes pending until the larger snapshot completes', async () => {
    const sim = await simulator({ speedGiBPerSecond: 1 });
    const imageId = await createImage(sim, GENOMICS, 'two volume image');
    const image = await describeImage(sim, imageId);
    expect(image.BlockDeviceMappings?.map((m) => m.Ebs?.VolumeSize)).toEqual([50, 200]);

    sim.elapse(100); // the 50 GiB snapshot is done, the 200 GiB one half-way
    const snaps = await sim.ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(image) }));
    expect(Object.fromEntries((snaps.Snapshots ?? []).map((s) => [s.VolumeSize, s.Progress]))).toEqual({
      50: '100%',
      200: '50%',
    });
    expect((await describeImage(sim, imageId)).State).toBe('pending');

    sim.elapse(100);
    expect((await describeImage(sim, imageId)).State).toBe('available');
  });

  it('refuses to copy an image that is still pending with IncorrectState', async () => {
    const sim = await simulator();
    const imageId = await createImage(sim, DEMO, 'not yet copyable');
    await expectEc2Error(
      sim.ec2('us-west-2').send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: imageId, Name: 'too early' })),
      'IncorrectState',
    );
  });
});

describe('[simulator only: moto does not check AMI names] InvalidAMIName', () => {
  it('rejects a second image with the same name in the region with InvalidAMIName.Duplicate, until the first is deregistered', async () => {
    const sim = await simulator();
    const first = await createImage(sim, DEMO, 'env v1');
    await expectEc2Error(
      sim.ec2().send(new CreateImageCommand({ InstanceId: TEACHING, Name: 'env v1' })),
      'InvalidAMIName.Duplicate',
    );
    await sim.ec2().send(new DeregisterImageCommand({ ImageId: first }));
    expect(await createImage(sim, TEACHING, 'env v1')).toMatch(/^ami-/);
  });

  it('allows the same name in another region, but not twice there (CopyImage checks it too)', async () => {
    const sim = await simulator();
    const source = await createImage(sim, DEMO, 'env v1');
    await waitForImage(sim, source);
    const west = sim.ec2('us-west-2');
    const copy = await west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'env v1' }));
    expect(copy.ImageId).toMatch(/^ami-/);
    await expectEc2Error(
      west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'env v1' })),
      'InvalidAMIName.Duplicate',
    );
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'x'.repeat(129)],
    ['a #', 'bad#name'],
    ['a !', 'hello!'],
    ['a tab', 'tab\tname'],
    ['non-ASCII letters', 'ümlaut image'],
  ])('rejects a name that is %s with InvalidAMIName.Malformed', async (_what, name) => {
    const sim = await simulator();
    await expectEc2Error(sim.ec2().send(new CreateImageCommand({ InstanceId: DEMO, Name: name })), 'InvalidAMIName.Malformed');
    const own = await sim.ec2().send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(own.Images).toEqual([]);
  });

  it("accepts 3 and 128 characters and every character EC2 allows: letters, digits, ( ) [ ] space . / - ' @ _", async () => {
    const sim = await simulator();
    for (const name of ['abc', 'n'.repeat(128), "My env (v1) [gpu] 2024.06/cuda-12 o'brien@lab_x"]) {
      const id = await createImage(sim, DEMO, name);
      expect((await describeImage(sim, id)).Name).toBe(name);
    }
  });
});

describe('[simulator only: moto does not check instance states] IncorrectInstanceState', () => {
  it('refuses CreateImage for an instance that is stopping or terminated, and accepts a stopped one', async () => {
    const sim = await simulator();
    const box = await launch(sim, 'state-box');
    const id = box.InstanceId ?? '';
    await sim.ec2().send(new StopInstancesCommand({ InstanceIds: [id] }));
    await expectEc2Error(
      sim.ec2().send(new CreateImageCommand({ InstanceId: id, Name: 'while stopping' })),
      'IncorrectInstanceState',
    );

    await waitForInstance(sim, id, 'stopped');
    expect(await createImage(sim, id, 'while stopped')).toMatch(/^ami-/);

    await sim.ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForInstance(sim, id, 'terminated');
    await expectEc2Error(
      sim.ec2().send(new CreateImageCommand({ InstanceId: id, Name: 'after the end' })),
      'IncorrectInstanceState',
    );
  });

  it('refuses to start a stopping instance and to stop a terminated one', async () => {
    const sim = await simulator();
    const box = await launch(sim, 'state-box');
    const id = box.InstanceId ?? '';
    await sim.ec2().send(new StopInstancesCommand({ InstanceIds: [id] }));
    await expectEc2Error(sim.ec2().send(new StartInstancesCommand({ InstanceIds: [id] })), 'IncorrectInstanceState');
    await sim.ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await waitForInstance(sim, id, 'terminated');
    await expectEc2Error(sim.ec2().send(new StopInstancesCommand({ InstanceIds: [id] })), 'IncorrectInstanceState');
  });
});

describe('[simulator only: moto answers NotFound for malformed ids] …ID.Malformed', () => {
  it('answers InvalidInstanceID.Malformed, InvalidSnapshotID.Malformed, InvalidVolumeID.Malformed and InvalidAMIID.Malformed for ids of the wrong form', async () => {
    const sim = await simulator();
    const ec2 = sim.ec2();
    await expectEc2Error(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-xyz'] })), 'InvalidInstanceID.Malformed');
    await expectEc2Error(
      ec2.send(new CreateImageCommand({ InstanceId: 'demo-workstation', Name: 'by name' })),
      'InvalidInstanceID.Malformed',
    );
    await expectEc2Error(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snapshot-1'] })), 'InvalidSnapshotID.Malformed');
    await expectEc2Error(ec2.send(new DeleteSnapshotCommand({ SnapshotId: 'snap-12' })), 'InvalidSnapshotID.Malformed');
    await expectEc2Error(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['volume'] })), 'InvalidVolumeID.Malformed');
    await expectEc2Error(ec2.send(new DeregisterImageCommand({ ImageId: 'ami-nothex0000000000' })), 'InvalidAMIID.Malformed');
  });
});

describe('[simulator only: moto ignores ClientToken and CopyImageTags] CopyImage', () => {
  async function availableSource(sim: Backend): Promise<string> {
    const id = await createImage(sim, DEMO, 'copy source');
    await sim.ec2().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'team', Value: 'bio' }] }));
    await waitForImage(sim, id);
    return id;
  }

  it('answers a repeated ClientToken with the same image, even after it completed, and makes one copy', async () => {
    const sim = await simulator();
    const source = await availableSource(sim);
    const west = sim.ec2('us-west-2');
    const copy = () =>
      west.send(
        new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'idem copy', ClientToken: 'retry-1' }),
      );
    const first = await copy();
    const second = await copy();
    expect(second.ImageId).toBe(first.ImageId);
    await waitForImage(sim, first.ImageId ?? '', 'us-west-2');
    expect((await copy()).ImageId).toBe(first.ImageId);
    const own = await west.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(own.Images?.map((i) => i.ImageId)).toEqual([first.ImageId]);

    const other = await west.send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'second copy', ClientToken: 'retry-2' }),
    );
    expect(other.ImageId).not.toBe(first.ImageId);
  });

  it('rejects a ClientToken reused with other parameters with IdempotentParameterMismatch', async () => {
    const sim = await simulator();
    const source = await availableSource(sim);
    const west = sim.ec2('us-west-2');
    await west.send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'first name', ClientToken: 'tok' }),
    );
    await expectEc2Error(
      west.send(
        new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'other name', ClientToken: 'tok' }),
      ),
      'IdempotentParameterMismatch',
    );
  });

  it("copies the source image's tags with CopyImageTags, merged with TagSpecifications, and none without it", async () => {
    const sim = await simulator();
    const source = await availableSource(sim);
    const west = sim.ec2('us-west-2');
    const withTags = await west.send(
      new CopyImageCommand({
        SourceRegion: 'us-east-1',
        SourceImageId: source,
        Name: 'tagged copy',
        CopyImageTags: true,
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'prism:source-region', Value: 'us-east-1' }] }],
      }),
    );
    expect(tagMap((await describeImage(sim, withTags.ImageId ?? '', 'us-west-2')).Tags)).toEqual({
      team: 'bio',
      'prism:source-region': 'us-east-1',
    });
    const without = await west.send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: source, Name: 'bare copy' }),
    );
    expect((await describeImage(sim, without.ImageId ?? '', 'us-west-2')).Tags).toBeUndefined();
  });
});

describe('[simulator only: moto has no image block public access API] GetImageBlockPublicAccessState', () => {
  it('reports unblocked by default, and then lets an image be made public', async () => {
    const sim = await simulator();
    const state = await sim.ec2().send(new GetImageBlockPublicAccessStateCommand({}));
    expect(state.ImageBlockPublicAccessState).toBe('unblocked');
    const id = await createImage(sim, DEMO, 'publishable');
    await sim.ec2().send(new ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ Group: 'all' }] } }));
    expect((await describeImage(sim, id)).Public).toBe(true);
  });

  it('reports block-new-sharing when blocked, refuses Group all with OperationNotPermitted and leaves the image private, but still shares with an account', async () => {
    const sim = await simulator({ blockPublicAccess: true });
    const state = await sim.ec2().send(new GetImageBlockPublicAccessStateCommand({}));
    expect(state.ImageBlockPublicAccessState).toBe('block-new-sharing');

    const id = await createImage(sim, DEMO, 'blocked image');
    await expectEc2Error(
      sim.ec2().send(new ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ Group: 'all' }] } })),
      'OperationNotPermitted',
    );
    expect((await describeImage(sim, id)).Public).toBe(false);

    await sim
      .ec2()
      .send(new ModifyImageAttributeCommand({ ImageId: id, LaunchPermission: { Add: [{ UserId: '111122223333' }] } }));
    const perms = await sim.ec2().send(new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' }));
    expect(perms.LaunchPermissions).toEqual([{ UserId: '111122223333' }]);
  });
});

describe('[simulator only: moto does not throttle] RequestLimitExceeded', () => {
  it('answers RequestLimitExceeded with HTTP 503 when throttled', async () => {
    const sim = await simulator({ throttleRate: 1 });
    await expectEc2Error(sim.ec2().send(new DescribeImagesCommand({ Owners: ['self'] })), 'RequestLimitExceeded', 503);
  });

  it("is retried by the SDK's standard retry strategy as throttling, so a call throttled once succeeds on its second attempt", async () => {
    const draws = [0, 0.9]; // first request throttled (0 < 0.5), the retry admitted
    const sim = await simulator({ throttleRate: 0.5, random: () => draws.shift() ?? 0.9 });
    const retrying = new EC2Client({
      region: 'us-east-1',
      endpoint: sim.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 3,
    });
    try {
      const out = await retrying.send(new DescribeImagesCommand({ Owners: ['self'] }));
      expect(out.$metadata.attempts).toBe(2);
      expect(out.Images).toEqual([]);
    } finally {
      retrying.destroy();
    }
  });
});

describe('[simulator only: moto differs from the EC2 API reference here] validation and errors', () => {
  it('fails DescribeImages with InvalidAMIID.NotFound when ImageIds mixes a known and an unknown image (moto answers the known one)', async () => {
    const sim = await simulator();
    const id = await createImage(sim, DEMO, 'known image');
    await expectEc2Error(sim.ec2().send(new DescribeImagesCommand({ ImageIds: [id, UNKNOWN.image] })), 'InvalidAMIID.NotFound');
  });

  it('rejects an unknown filter name with InvalidParameterValue (moto answers HTTP 500)', async () => {
    const sim = await simulator();
    await expectEc2Error(
      sim.ec2().send(new DescribeImagesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })),
      'InvalidParameterValue',
    );
  });

  it('answers DescribeImageAttribute for an unknown image with InvalidAMIID.NotFound (moto answers HTTP 500)', async () => {
    const sim = await simulator();
    await expectEc2Error(
      sim.ec2().send(new DescribeImageAttributeCommand({ ImageId: UNKNOWN.image, Attribute: 'launchPermission' })),
      'InvalidAMIID.NotFound',
    );
  });

  it('refuses tag keys starting with aws: with InvalidParameterValue (moto accepts them)', async () => {
    const sim = await simulator();
    const id = await createImage(sim, DEMO, 'reserved tags');
    await expectEc2Error(
      sim.ec2().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'aws:cloudformation:stack', Value: 'x' }] })),
      'InvalidParameterValue',
    );
    expect((await describeImage(sim, id)).Tags).toBeUndefined();
  });

  it('tags the snapshots from a CreateImage TagSpecification of type snapshot (moto answers HTTP 500)', async () => {
    const sim = await simulator();
    const out = await sim.ec2().send(
      new CreateImageCommand({
        InstanceId: GENOMICS,
        Name: 'tagged at birth',
        TagSpecifications: [
          { ResourceType: 'image', Tags: [{ Key: 'team', Value: 'bio' }] },
          { ResourceType: 'snapshot', Tags: [{ Key: 'team', Value: 'bio-snap' }] },
        ],
      }),
    );
    const image = await describeImage(sim, out.ImageId ?? '');
    expect(tagMap(image.Tags)).toEqual({ team: 'bio' });
    const snaps = await sim.ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(image) }));
    expect(snaps.Snapshots).toHaveLength(2);
    for (const s of snaps.Snapshots ?? []) expect(tagMap(s.Tags)).toEqual({ team: 'bio-snap' });
  });

  it('deletes the snapshots with DeregisterImage DeleteAssociatedSnapshots and reports each (moto keeps them)', async () => {
    const sim = await simulator();
    const id = await createImage(sim, DEMO, 'goes with its snapshots');
    const image = await waitForImage(sim, id);
    const out = await sim.ec2().send(new DeregisterImageCommand({ ImageId: id, DeleteAssociatedSnapshots: true }));
    expect(out.DeleteSnapshotResults).toEqual(snapshotIdsOf(image).map((SnapshotId) => ({ SnapshotId, ReturnCode: 'success' })));
    const left = await sim.ec2().send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect(left.Snapshots).toEqual([]);
  });
});

// moto 5.2.1 lacks all of these (checked by running it): EnableImageDeprecation and
// EnableImageDeregistrationProtection answer an HTML page, ModifyImageAttribute ImdsSupport is
// accepted but not shown, and CopyImage ignores Encrypted/KmsKeyId (the copy's snapshots are
// unencrypted). test/simulator/image-settings.test.ts covers them in detail, with the AWS CLI too.
describe("[simulator only: moto 5.2.1 lacks image deprecation, deregistration protection, ImdsSupport and encrypted copies] an image builder's settings", () => {
  it('encrypts a copy in its own region with a customer key, then deprecates, protects and marks it IMDSv2 only, as DescribeImages shows', async () => {
    const sim = await simulator();
    const ec2 = sim.ec2();
    const { ImageId: source = '' } = await ec2.send(new CreateImageCommand({ InstanceId: DEMO, Name: 'builder-src' }));
    await waitForImage(sim, source);
    const { ImageId = '' } = await ec2.send(
      new CopyImageCommand({
        SourceRegion: 'us-east-1',
        SourceImageId: source,
        Name: 'builder-enc',
        Encrypted: true,
        KmsKeyId: 'alias/builder',
      }),
    );
    const image = await waitForImage(sim, ImageId);
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshotIdsOf(image) }));
    expect(
      snaps.Snapshots?.every(
        (s) => s.Encrypted === true && s.KmsKeyId?.startsWith(`arn:aws:kms:us-east-1:${sim.accountId}:key/`),
      ),
    ).toBe(true);

    const deprecateAt = new Date(Date.now() + 90 * 86_400_000);
    deprecateAt.setUTCSeconds(0, 0);
    await ec2.send(new EnableImageDeprecationCommand({ ImageId, DeprecateAt: deprecateAt }));
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId, ImdsSupport: { Value: 'v2.0' } }));
    const after = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId] }))).Images?.[0];
    expect(after).toMatchObject({
      DeprecationTime: deprecateAt.toISOString(),
      DeregistrationProtection: 'enabled',
      ImdsSupport: 'v2.0',
    });
    await expectEc2Error(ec2.send(new DeregisterImageCommand({ ImageId })), 'OperationNotPermitted');
    await expectEc2Error(
      ec2.send(new ModifyImageAttributeCommand({ ImageId, LaunchPermission: { Add: [{ Group: 'all' }] } })),
      'UnsupportedOperation',
    );
  });
});
