CREATE INDEX `amis_owner_region_created_idx` ON `amis` (`owner`,`region`,`created_at`,`ami_id`);--> statement-breakpoint
CREATE INDEX `amis_owner_state_created_idx` ON `amis` (`owner`,`state`,`created_at`,`ami_id`);--> statement-breakpoint
CREATE INDEX `amis_owner_template_created_idx` ON `amis` (`owner`,`template_name`,`created_at`,`ami_id`);--> statement-breakpoint
CREATE INDEX `amis_owner_visibility_created_idx` ON `amis` (`owner`,`visibility`,`created_at`,`ami_id`);