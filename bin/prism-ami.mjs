#!/usr/bin/env node
// The `prism-ami` command. The CLI is TypeScript run through tsx's ESM loader, so there is no build
// step; the tsconfig is the project's own, found from this file rather than the caller's cwd.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/main.ts');
