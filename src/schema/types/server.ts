import type { ServerInfo } from '../../services/index.js';
import type { Viewer } from '../../services/viewer.js';
import * as resolvers from '../../resolvers/server.js';
import { builder } from '../builder.js';

const ViewerType = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who is asking',
  fields: (t) => ({
    user: t.exposeString('user', { description: 'User name' }),
    admin: t.boolean({
      description: 'Whether this token is an admin token: it may capture any instance and unpublish any community AMI',
      resolve: (v) => v.admin ?? false,
    }),
  }),
});

const Ec2BackendEnum = builder.enumType('Ec2Backend', {
  description: 'What the server talks to',
  values: {
    AWS: { description: 'AWS or an EC2-compatible endpoint (moto, LocalStack)' },
    SIMULATOR: { description: 'The built-in EC2 simulator: no AWS calls are made' },
  },
});

const ServerInfoType = builder.objectRef<ServerInfo>('ServerInfo').implement({
  description: 'About this server',
  fields: (t) => ({
    version: t.exposeString('version', { description: 'prism-ami version' }),
    ec2Backend: t.field({ type: Ec2BackendEnum, resolve: (s) => s.ec2Backend, description: 'EC2 backend in use' }),
    sourceRegion: t.exposeString('sourceRegion', { description: 'Region AMIs are created in' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerType,
    description: 'The authenticated user',
    resolve: (_root, _args, ctx) => resolvers.viewer(ctx),
  }),
  serverInfo: t.field({
    type: ServerInfoType,
    description: 'Version and backend',
    resolve: (_root, _args, ctx) => resolvers.serverInfo(ctx),
  }),
}));
