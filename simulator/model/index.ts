/**
 * Responsible for the EC2 wire model: which shape an action reads and writes, and the wire name of
 * every member. Both the query decoder and the XML serializer walk these shapes, so a field the SDK
 * or the CLI knows about is spelled exactly as botocore's model spells it.
 */
import extract from './ec2-shapes.json' with { type: 'json' };
import type { Action } from './actions.js';

export interface MemberRef {
  shape: string;
  locationName?: string;
  queryName?: string;
}

export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'double' | 'float' | 'blob';
  members?: Record<string, MemberRef>;
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  required?: string[];
  enum?: string[];
}

// The JSON's inferred literal type is a union of 252 object types; one cast to the documented shape
// keeps the rest of the code readable.
const model = extract as unknown as {
  apiVersion: string;
  operations: Record<Action, { input?: string; output?: string }>;
  shapes: Record<string, Shape>;
};

export const API_VERSION = model.apiVersion;
export const XML_NAMESPACE = `http://ec2.amazonaws.com/doc/${API_VERSION}/`;

export function shape(name: string): Shape {
  const s = model.shapes[name];
  if (!s) throw new Error(`unknown shape ${name}`);
  return s;
}

export function inputShapeName(action: Action): string | undefined {
  return model.operations[action].input;
}

export function outputShapeName(action: Action): string | undefined {
  return model.operations[action].output;
}
