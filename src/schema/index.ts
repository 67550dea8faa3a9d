// Assembles the schema. Importing this module has no side effects beyond building the schema
// (codegen imports it): no database, no environment, no timers.
import { builder } from './builder.js';
import './types/errors.js';
import './types/common.js';
import './types/server.js';
import './types/ami-creation.js';
import './types/ami.js';
import './types/instance.js';

export const schema = builder.toSchema({ sortSchema: false });
