// The PostgreSQL schema: the same tables, columns and indexes as schema.ts, in PostgreSQL's types
// (bigint epoch milliseconds, boolean, jsonb, double precision). Row types come from schema.ts;
// store.ts checks at compile time that these tables read and write exactly the same rows.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { AMI_STATES, AMI_VISIBILITIES, CREATION_STAGES, CREATION_STATUSES } from './schema.js';

const epochMs = (name: string) => bigint(name, { mode: 'number' });
const createdAt = () =>
  epochMs('created_at')
    .notNull()
    .default(sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`);

export const users = pgTable('users', {
  name: text('name').primaryKey(),
  createdAt: createdAt(),
});

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    user: text('user')
      .notNull()
      .references(() => users.name),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: epochMs('revoked_at'),
    admin: boolean('admin').notNull().default(false),
  },
  (t) => [uniqueIndex('api_tokens_hash_idx').on(t.tokenHash)],
);

export const creations = pgTable(
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
    noReboot: boolean('no_reboot').notNull(),
    public: boolean('public').notNull(),
    shareAccounts: jsonb('share_accounts').$type<string[]>().notNull(),
    sizeGiB: integer('size_gib').notNull().default(0),
    snapshotIds: jsonb('snapshot_ids').$type<string[]>().notNull(),
    snapshotsTagged: boolean('snapshots_tagged').notNull().default(false),
    imageRequestedAt: epochMs('image_requested_at'),
    rateBaseAt: epochMs('rate_base_at'),
    rateBaseWork: doublePrecision('rate_base_work'),
    estimatedSecondsRemaining: integer('estimated_seconds_remaining'),
    retentionKeepLatest: integer('retention_keep_latest'),
    encrypt: boolean('encrypt').notNull().default(false),
    kmsKeyId: text('kms_key_id'),
    regionKmsKeyIds: jsonb('region_kms_key_ids').$type<Record<string, string>>(),
    unencryptedAmiId: text('unencrypted_ami_id'),
    unencryptedSnapshotIds: jsonb('unencrypted_snapshot_ids').$type<string[]>(),
    deprecateAt: epochMs('deprecate_at'),
    deregistrationProtection: boolean('deregistration_protection').notNull().default(false),
    requireImdsV2: boolean('require_imds_v2').notNull().default(false),
    ssmParameter: text('ssm_parameter'),
    settingsAppliedAt: epochMs('settings_applied_at'),
    createdAt: createdAt(),
    updatedAt: epochMs('updated_at').notNull(),
    completedAt: epochMs('completed_at'),
  },
  (t) => [
    uniqueIndex('creations_owner_idempotency_idx').on(t.owner, t.idempotencyKey),
    index('creations_owner_created_idx').on(t.owner, t.createdAt, t.id),
    index('creations_status_idx').on(t.status),
    index('creations_ami_idx').on(t.amiId),
  ],
);

export const creationTags = pgTable(
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

export const regionCopies = pgTable(
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
    snapshotIds: jsonb('snapshot_ids').$type<string[]>().notNull(),
    snapshotsTagged: boolean('snapshots_tagged').notNull().default(false),
    position: integer('position').notNull(),
    startedAt: epochMs('started_at'),
    queuedAt: epochMs('queued_at'),
    settingsAppliedAt: epochMs('settings_applied_at'),
    completedAt: epochMs('completed_at'),
  },
  (t) => [primaryKey({ columns: [t.creationId, t.region] }), index('region_copies_ami_idx').on(t.amiId)],
);

export const amis = pgTable(
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
    encrypted: boolean('encrypted').notNull().default(false),
    snapshotIds: jsonb('snapshot_ids').$type<string[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: epochMs('updated_at').notNull(),
    publishedAt: epochMs('published_at'),
    deregisteredReason: text('deregistered_reason'),
    kmsKeyId: text('kms_key_id'),
    deprecationTime: epochMs('deprecation_time'),
    deregistrationProtection: boolean('deregistration_protection').notNull().default(false),
    imdsSupport: text('imds_support'),
    ssmParameter: text('ssm_parameter'),
  },
  (t) => [
    index('amis_owner_created_idx').on(t.owner, t.createdAt, t.amiId),
    index('amis_owner_region_created_idx').on(t.owner, t.region, t.createdAt, t.amiId),
    index('amis_owner_state_created_idx').on(t.owner, t.state, t.createdAt, t.amiId),
    index('amis_owner_template_created_idx').on(t.owner, t.templateName, t.createdAt, t.amiId),
    index('amis_owner_visibility_created_idx').on(t.owner, t.visibility, t.createdAt, t.amiId),
    index('amis_visibility_created_idx').on(t.visibility, t.createdAt, t.amiId),
    index('amis_creation_idx').on(t.creationId),
  ],
);

export const amiTags = pgTable(
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

export const amiLaunchPermissions = pgTable(
  'ami_launch_permissions',
  {
    amiId: text('ami_id')
      .notNull()
      .references(() => amis.amiId, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.amiId, t.accountId] })],
);

export const amiGeneration = pgTable('ami_generation', {
  name: text('name').primaryKey(),
  token: text('token').notNull(),
});
