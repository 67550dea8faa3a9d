ALTER TABLE `amis` ADD `deregistered_reason` text;--> statement-breakpoint
ALTER TABLE `creations` ADD `retention_keep_latest` integer;--> statement-breakpoint
ALTER TABLE `region_copies` ADD `queued_at` integer;