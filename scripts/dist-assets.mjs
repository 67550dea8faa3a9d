#!/usr/bin/env node
// Completes `dist/` after tsc: the compiled tree mirrors the repository (dist/src, dist/simulator),
// so the files the server finds relative to its own modules (package.json, drizzle/ migrations,
// web/dist) are copied beside them, and `node dist/src/main.js` finds them where tsx finds the
// originals. node_modules is still resolved from the repository root, one level up.
import { cpSync, existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const copy = (path) => {
  const from = new URL(path, root);
  if (existsSync(from)) cpSync(from, new URL(`dist/${path}`, root), { recursive: true });
};
copy('package.json');
copy('drizzle');
copy('web/dist');
