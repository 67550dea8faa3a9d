// The SQLite schema. Every creation, regional copy and AMI the service knows about lives here, so
// a restart loses nothing: the tracker resumes from these rows. Timestamps are epoch milliseconds.
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const CREATION_STATUSES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'PARTIALLY_COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type CreationStatus = (typeof CREATION_STATUSES)[number];

/** Statuses of a creation (or a copy) still under way; every other status is terminal. */
export const ACTIVE_STATUSES: CreationStatus[] = ['PENDING', 'IN_PROGRESS'];

export function isTerminal(status: CreationStatus): boolean {
  return !ACTIVE_STATUSES.includes(status);
}

export const CREATION_STAGES = [
  'VALIDATING',
  'SNAPSHOTTING',
  'ENCRYPTING',
  'COPYING',
  'APPLYING_SETTINGS',
  'PUBLISHING',
  'DONE',
] as const;
export type CreationStage = (typeof CREATION_STAGES)[number];

export const AMI_STATES = ['PENDING', 'AVAILABLE', 'FAILED', 'DEREGISTERED'] as const;
export type AmiState = (typeof AMI_STATES)[number];

export const AMI_VISIBILITIES = ['PRIVATE', 'SHARED', 'PUBLIC'] as const;
export type AmiVisibility = (typeof AMI_VISIBILITIES)[number];

const createdAt = () =>
  integer('created_at', { mode: 'number' })
    .notNull()
    .default(sql`(unixepoch('subsec') * 1000)`);

export const users = sqliteTable('users', {
  name: text('name').primaryKey(),
  createdAt: createdAt(),
});

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    user: text('user')
      .notNull()
      .references(() => users.name),
    /** sha256 of the token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at', { mode: 'number' }),
    /** Admin tokens may capture any instance and unpublish any community AMI. */
    admin: integer('admin', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [uniqueIndex('api_tokens_hash_idx').on(t.tokenHash)],
);

export const creations = sqliteTable(
  'creations',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull(),
    idempotencyKey: text('idempotency_key'),
    name: text('name').notNull(),
    description: text('description'),
    templateName: text('template_name'),
    instanceId: text('instance_id').notNull(),
    sourceRegion: text('source_region').notNull(),
    architecture: text('architecture'),
    amiId: text('ami_id'),
    status: text('status', { enum: CREATION_STATUSES }).notNull(),
    stage: text('stage', { enum: CREATION_STAGES }).notNull(),
    progress: integer('progress').notNull().default(0),
    message: text('message').notNull(),
    failureReason: text('failure_reason'),
    noReboot: integer('no_reboot', { mode: 'boolean' }).notNull(),
    public: integer('public', { mode: 'boolean' }).notNull(),
    shareAccounts: text('share_accounts', { mode: 'json' }).$type<string[]>().notNull(),
    sizeGiB: integer('size_gib').notNull().default(0),
    /** Snapshot ids of the source image, once EC2 lists them. */
    snapshotIds: text('snapshot_ids', { mode: 'json' }).$type<string[]>().notNull(),
    snapshotsTagged: integer('snapshots_tagged', { mode: 'boolean' }).notNull().default(false),
    /** When CreateImage was sent; a crash after this point must adopt, never re-create. */
    imageRequestedAt: integer('image_requested_at', { mode: 'number' }),
    /** First observation of measurable work, the base of the rate behind the ETA. */
    rateBaseAt: integer('rate_base_at', { mode: 'number' }),
    rateBaseWork: real('rate_base_work'),
    estimatedSecondsRemaining: integer('estimated_seconds_remaining'),
    /** Keep this many of the owner's newest AMIs of the template once this one is available (1..100). */
    retentionKeepLatest: integer('retention_keep_latest'),
    /** Every image of the creation is encrypted: the source image is copied in its own region with this key (null: the AWS managed key). */
    encrypt: integer('encrypt', { mode: 'boolean' }).notNull().default(false),
    kmsKeyId: text('kms_key_id'),
    /** The key of each copy region, as resolved when the creation was accepted. */
    regionKmsKeyIds: text('region_kms_key_ids', { mode: 'json' }).$type<Record<string, string>>(),
    /** The unencrypted image CreateImage made, replaced by its encrypted copy and then removed. */
    unencryptedAmiId: text('unencrypted_ami_id'),
    unencryptedSnapshotIds: text('unencrypted_snapshot_ids', { mode: 'json' }).$type<string[]>(),
    deprecateAt: integer('deprecate_at', { mode: 'number' }),
    deregistrationProtection: integer('deregistration_protection', { mode: 'boolean' }).notNull().default(false),
    requireImdsV2: integer('require_imds_v2', { mode: 'boolean' }).notNull().default(false),
    ssmParameter: text('ssm_parameter'),
    /** When the settings above were applied to the source image (each copy has its own). */
    settingsAppliedAt: integer('settings_applied_at', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
    completedAt: integer('completed_at', { mode: 'number' }),
  },
  (t) => [
    uniqueIndex('creations_owner_idempotency_idx').on(t.owner, t.idempotencyKey),
    index('creations_owner_created_idx').on(t.owner, t.createdAt, t.id),
    index('creations_status_idx').on(t.status),
    index('creations_ami_idx').on(t.amiId),
  ],
);

/** User tags of a creation, in the order given (they become the image's tags). */
export const creationTags = sqliteTable(
  'creation_tags',
  {
    creationId: text('creation_id')
      .notNull()
      .references(() => creations.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: text('value').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.creationId, t.key] })],
);

export const regionCopies = sqliteTable(
  'region_copies',
  {
    creationId: text('creation_id')
      .notNull()
      .references(() => creations.id, { onDelete: 'cascade' }),
    region: text('region').notNull(),
    amiId: text('ami_id'),
    status: text('status', { enum: CREATION_STATUSES }).notNull(),
    progress: integer('progress').notNull().default(0),
    message: text('message'),
    failureReason: text('failure_reason'),
    snapshotIds: text('snapshot_ids', { mode: 'json' }).$type<string[]>().notNull(),
    snapshotsTagged: integer('snapshots_tagged', { mode: 'boolean' }).notNull().default(false),
    position: integer('position').notNull(),
    startedAt: integer('started_at', { mode: 'number' }),
    /** When EC2 refused the copy for its concurrent-copy limit: the copy waits in its region's queue, oldest first. */
    queuedAt: integer('queued_at', { mode: 'number' }),
    settingsAppliedAt: integer('settings_applied_at', { mode: 'number' }),
    completedAt: integer('completed_at', { mode: 'number' }),
  },
  (t) => [primaryKey({ columns: [t.creationId, t.region] }), index('region_copies_ami_idx').on(t.amiId)],
);

/** One registered image in one region (a creation's source image and each of its copies). */
export const amis = sqliteTable(
  'amis',
  {
    amiId: text('ami_id').primaryKey(),
    region: text('region').notNull(),
    owner: text('owner').notNull(),
    creationId: text('creation_id').references(() => creations.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    description: text('description'),
    architecture: text('architecture'),
    state: text('state', { enum: AMI_STATES }).notNull(),
    visibility: text('visibility', { enum: AMI_VISIBILITIES }).notNull().default('PRIVATE'),
    sizeGiB: integer('size_gib'),
    templateName: text('template_name'),
    encrypted: integer('encrypted', { mode: 'boolean' }).notNull().default(false),
    snapshotIds: text('snapshot_ids', { mode: 'json' }).$type<string[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
    publishedAt: integer('published_at', { mode: 'number' }),
    /** Why the image was deregistered, when the service did it on its own (retention). */
    deregisteredReason: text('deregistered_reason'),
    kmsKeyId: text('kms_key_id'),
    deprecationTime: integer('deprecation_time', { mode: 'number' }),
    deregistrationProtection: integer('deregistration_protection', { mode: 'boolean' }).notNull().default(false),
    /** EC2's ImdsSupport: 'v2.0' when instances launched from it must use IMDSv2. */
    imdsSupport: text('imds_support'),
    /** The SSM parameter (in the image's region) that holds its id. */
    ssmParameter: text('ssm_parameter'),
  },
  (t) => [
    // Newest-first pages of one user's AMIs, unfiltered and by each equality filter of userAmis:
    // the index yields rows already in page order, so a page reads ~first+1 rows, not the user's all.
    index('amis_owner_created_idx').on(t.owner, t.createdAt, t.amiId),
    index('amis_owner_region_created_idx').on(t.owner, t.region, t.createdAt, t.amiId),
    index('amis_owner_state_created_idx').on(t.owner, t.state, t.createdAt, t.amiId),
    index('amis_owner_template_created_idx').on(t.owner, t.templateName, t.createdAt, t.amiId),
    index('amis_owner_visibility_created_idx').on(t.owner, t.visibility, t.createdAt, t.amiId),
    index('amis_visibility_created_idx').on(t.visibility, t.createdAt, t.amiId),
    index('amis_creation_idx').on(t.creationId),
  ],
);

export const amiTags = sqliteTable(
  'ami_tags',
  {
    amiId: text('ami_id')
      .notNull()
      .references(() => amis.amiId, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.amiId, t.key] }), index('ami_tags_key_value_idx').on(t.key, t.value, t.amiId)],
);

/** Accounts granted launch permission on an image (sharing). */
export const amiLaunchPermissions = sqliteTable(
  'ami_launch_permissions',
  {
    amiId: text('ami_id')
      .notNull()
      .references(() => amis.amiId, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.amiId, t.accountId] })],
);

/**
 * One row: a token that every write to amis, their tags or launch permissions replaces, in the same
 * transaction (src/db/amis.ts). A list page or count read under one token is good for as long as
 * the token stands, on every replica and process that shares the database.
 */
export const amiGeneration = sqliteTable('ami_generation', {
  name: text('name').primaryKey(),
  token: text('token').notNull(),
});

export type CreationRow = typeof creations.$inferSelect;
export type NewCreationRow = typeof creations.$inferInsert;
export type RegionCopyRow = typeof regionCopies.$inferSelect;
export type AmiRow = typeof amis.$inferSelect;
