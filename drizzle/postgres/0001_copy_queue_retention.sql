ALTER TABLE "amis" ADD COLUMN "deregistered_reason" text;--> statement-breakpoint
ALTER TABLE "creations" ADD COLUMN "retention_keep_latest" integer;--> statement-breakpoint
ALTER TABLE "region_copies" ADD COLUMN "queued_at" bigint;