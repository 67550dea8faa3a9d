import type { Context } from './context.js';

export const viewer = (ctx: Context) => ctx.viewer;

export const serverInfo = (ctx: Context) => ctx.services.serverInfo;
