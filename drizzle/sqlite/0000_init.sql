CREATE TABLE `ami_launch_permissions` (
	`ami_id` text NOT NULL,
	`account_id` text NOT NULL,
	PRIMARY KEY(`ami_id`, `account_id`),
	FOREIGN KEY (`ami_id`) REFERENCES `amis`(`ami_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `ami_tags` (
	`ami_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`ami_id`, `key`),
	FOREIGN KEY (`ami_id`) REFERENCES `amis`(`ami_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ami_tags_key_value_idx` ON `ami_tags` (`key`,`value`,`ami_id`);--> statement-breakpoint
CREATE TABLE `amis` (
	`ami_id` text PRIMARY KEY NOT NULL,
	`region` text NOT NULL,
	`owner` text NOT NULL,
	`creation_id` text,
	`name` text NOT NULL,
	`description` text,
	`architecture` text,
	`state` text NOT NULL,
	`visibility` text DEFAULT 'PRIVATE' NOT NULL,
	`size_gib` integer,
	`template_name` text,
	`encrypted` integer DEFAULT false NOT NULL,
	`snapshot_ids` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`published_at` integer,
	FOREIGN KEY (`creation_id`) REFERENCES `creations`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `amis_owner_created_idx` ON `amis` (`owner`,`created_at`,`ami_id`);--> statement-breakpoint
CREATE INDEX `amis_visibility_created_idx` ON `amis` (`visibility`,`created_at`,`ami_id`);--> statement-breakpoint
CREATE INDEX `amis_creation_idx` ON `amis` (`creation_id`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`user`) REFERENCES `users`(`name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_idx` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `creation_tags` (
	`creation_id` text NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`creation_id`, `key`),
	FOREIGN KEY (`creation_id`) REFERENCES `creations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `creations` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`idempotency_key` text,
	`name` text NOT NULL,
	`description` text,
	`template_name` text,
	`instance_id` text NOT NULL,
	`source_region` text NOT NULL,
	`architecture` text,
	`ami_id` text,
	`status` text NOT NULL,
	`stage` text NOT NULL,
	`progress` integer DEFAULT 0 NOT NULL,
	`message` text NOT NULL,
	`failure_reason` text,
	`no_reboot` integer NOT NULL,
	`public` integer NOT NULL,
	`share_accounts` text NOT NULL,
	`size_gib` integer DEFAULT 0 NOT NULL,
	`snapshot_ids` text NOT NULL,
	`snapshots_tagged` integer DEFAULT false NOT NULL,
	`image_requested_at` integer,
	`rate_base_at` integer,
	`rate_base_work` real,
	`estimated_seconds_remaining` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `creations_owner_idempotency_idx` ON `creations` (`owner`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `creations_owner_created_idx` ON `creations` (`owner`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `creations_status_idx` ON `creations` (`status`);--> statement-breakpoint
CREATE INDEX `creations_ami_idx` ON `creations` (`ami_id`);--> statement-breakpoint
CREATE TABLE `region_copies` (
	`creation_id` text NOT NULL,
	`region` text NOT NULL,
	`ami_id` text,
	`status` text NOT NULL,
	`progress` integer DEFAULT 0 NOT NULL,
	`message` text,
	`failure_reason` text,
	`snapshot_ids` text NOT NULL,
	`snapshots_tagged` integer DEFAULT false NOT NULL,
	`position` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	PRIMARY KEY(`creation_id`, `region`),
	FOREIGN KEY (`creation_id`) REFERENCES `creations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `region_copies_ami_idx` ON `region_copies` (`ami_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`name` text PRIMARY KEY NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
