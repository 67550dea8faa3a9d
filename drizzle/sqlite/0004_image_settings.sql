ALTER TABLE `amis` ADD `kms_key_id` text;--> statement-breakpoint
ALTER TABLE `amis` ADD `deprecation_time` integer;--> statement-breakpoint
ALTER TABLE `amis` ADD `deregistration_protection` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `amis` ADD `imds_support` text;--> statement-breakpoint
ALTER TABLE `amis` ADD `ssm_parameter` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `encrypt` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `creations` ADD `kms_key_id` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `region_kms_key_ids` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `unencrypted_ami_id` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `unencrypted_snapshot_ids` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `deprecate_at` integer;--> statement-breakpoint
ALTER TABLE `creations` ADD `deregistration_protection` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `creations` ADD `require_imds_v2` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `creations` ADD `ssm_parameter` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `settings_applied_at` integer;--> statement-breakpoint
ALTER TABLE `region_copies` ADD `settings_applied_at` integer;