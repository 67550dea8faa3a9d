CREATE TABLE `ami_generation` (
	`name` text PRIMARY KEY NOT NULL,
	`token` text NOT NULL
);
