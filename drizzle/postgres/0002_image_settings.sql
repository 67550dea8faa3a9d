ALTER TABLE "amis" ADD COLUMN "kms_key_id" text;--> statement-breakpoint
ALTER TABLE "amis" ADD COLUMN "deprecation_time" bigint;--> statement-breakpoint
ALTER TABLE "amis" ADD COLUMN "deregistration_protection" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "amis" ADD COLUMN "imds_support" text;--> statement-breakpoint
ALTER TABLE "amis" ADD COLUMN "ssm_parameter" text;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "encrypt" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "kms_key_id" text;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "region_kms_key_ids" jsonb;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "unencrypted_ami_id" text;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "unencrypted_snapshot_ids" jsonb;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "deprecate_at" bigint;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "deregistration_protection" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "require_imds_v2" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "ssm_parameter" text;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "settings_applied_at" bigint;--> statement-breakpoint
ALTER TABLE "region_copies" ADD COLUMN "settings_applied_at" bigint;