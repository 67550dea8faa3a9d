import { defineConfig } from 'drizzle-kit';

// PostgreSQL (DATABASE_URL=postgres://…): the same tables as drizzle.config.ts, in PostgreSQL's types.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema-pg.ts',
  out: './drizzle/postgres',
});
