CREATE TABLE "ami_launch_permissions" (
	"ami_id" text NOT NULL,
	"account_id" text NOT NULL,
	CONSTRAINT "ami_launch_permissions_ami_id_account_id_pk" PRIMARY KEY("ami_id","account_id")
);
--> statement-breakpoint
CREATE TABLE "ami_tags" (
	"ami_id" text NOT NULL,
	"key" text NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "ami_tags_ami_id_key_pk" PRIMARY KEY("ami_id","key")
);
--> statement-breakpoint
CREATE TABLE "amis" (
	"ami_id" text PRIMARY KEY NOT NULL,
	"region" text NOT NULL,
	"owner" text NOT NULL,
	"creation_id" text,
	"name" text NOT NULL,
	"description" text,
	"architecture" text,
	"state" text NOT NULL,
	"visibility" text DEFAULT 'PRIVATE' NOT NULL,
	"size_gib" integer,
	"template_name" text,
	"encrypted" boolean DEFAULT false NOT NULL,
	"snapshot_ids" jsonb NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"published_at" bigint
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"user" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL,
	"revoked_at" bigint,
	"admin" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "creation_tags" (
	"creation_id" text NOT NULL,
	"key" text NOT NULL,
	"value" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "creation_tags_creation_id_key_pk" PRIMARY KEY("creation_id","key")
);
--> statement-breakpoint
CREATE TABLE "creations" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"idempotency_key" text,
	"name" text NOT NULL,
	"description" text,
	"template_name" text,
	"instance_id" text NOT NULL,
	"source_region" text NOT NULL,
	"architecture" text,
	"ami_id" text,
	"status" text NOT NULL,
	"stage" text NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"message" text NOT NULL,
	"failure_reason" text,
	"no_reboot" boolean NOT NULL,
	"public" boolean NOT NULL,
	"share_accounts" jsonb NOT NULL,
	"size_gib" integer DEFAULT 0 NOT NULL,
	"snapshot_ids" jsonb NOT NULL,
	"snapshots_tagged" boolean DEFAULT false NOT NULL,
	"image_requested_at" bigint,
	"rate_base_at" bigint,
	"rate_base_work" double precision,
	"estimated_seconds_remaining" integer,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"completed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "region_copies" (
	"creation_id" text NOT NULL,
	"region" text NOT NULL,
	"ami_id" text,
	"status" text NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"message" text,
	"failure_reason" text,
	"snapshot_ids" jsonb NOT NULL,
	"snapshots_tagged" boolean DEFAULT false NOT NULL,
	"position" integer NOT NULL,
	"started_at" bigint,
	"completed_at" bigint,
	CONSTRAINT "region_copies_creation_id_region_pk" PRIMARY KEY("creation_id","region")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"name" text PRIMARY KEY NOT NULL,
	"created_at" bigint DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "ami_launch_permissions" ADD CONSTRAINT "ami_launch_permissions_ami_id_amis_ami_id_fk" FOREIGN KEY ("ami_id") REFERENCES "public"."amis"("ami_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ami_tags" ADD CONSTRAINT "ami_tags_ami_id_amis_ami_id_fk" FOREIGN KEY ("ami_id") REFERENCES "public"."amis"("ami_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "amis" ADD CONSTRAINT "amis_creation_id_creations_id_fk" FOREIGN KEY ("creation_id") REFERENCES "public"."creations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_users_name_fk" FOREIGN KEY ("user") REFERENCES "public"."users"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "creation_tags" ADD CONSTRAINT "creation_tags_creation_id_creations_id_fk" FOREIGN KEY ("creation_id") REFERENCES "public"."creations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "region_copies" ADD CONSTRAINT "region_copies_creation_id_creations_id_fk" FOREIGN KEY ("creation_id") REFERENCES "public"."creations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ami_tags_key_value_idx" ON "ami_tags" USING btree ("key","value","ami_id");--> statement-breakpoint
CREATE INDEX "amis_owner_created_idx" ON "amis" USING btree ("owner","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_owner_region_created_idx" ON "amis" USING btree ("owner","region","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_owner_state_created_idx" ON "amis" USING btree ("owner","state","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_owner_template_created_idx" ON "amis" USING btree ("owner","template_name","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_owner_visibility_created_idx" ON "amis" USING btree ("owner","visibility","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_visibility_created_idx" ON "amis" USING btree ("visibility","created_at","ami_id");--> statement-breakpoint
CREATE INDEX "amis_creation_idx" ON "amis" USING btree ("creation_id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash_idx" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "creations_owner_idempotency_idx" ON "creations" USING btree ("owner","idempotency_key");--> statement-breakpoint
CREATE INDEX "creations_owner_created_idx" ON "creations" USING btree ("owner","created_at","id");--> statement-breakpoint
CREATE INDEX "creations_status_idx" ON "creations" USING btree ("status");--> statement-breakpoint
CREATE INDEX "creations_ami_idx" ON "creations" USING btree ("ami_id");--> statement-breakpoint
CREATE INDEX "region_copies_ami_idx" ON "region_copies" USING btree ("ami_id");