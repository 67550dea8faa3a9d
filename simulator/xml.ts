/**
 * Responsible for EC2's XML: a success body `<XxxResponse xmlns=…><requestId/>…</XxxResponse>` built by
 * walking the action's output shape (so element names are the model's locationNames: `imagesSet/item`,
 * `blockDeviceMapping`, `tagSet`, `imageState`, …), and EC2's error document.
 *
 * Values come in as the SDK's output types (`Image`, `Snapshot`, …, PascalCase member names), which
 * lets the action handlers be type-checked against `@aws-sdk/client-ec2` itself.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { Action } from './model/actions.js';
import { XML_NAMESPACE, outputShapeName, shape } from './model/index.js';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  processEntities: true,
});

type XmlNode = string | { [k: string]: XmlNode | XmlNode[] };

function encode(shapeName: string, value: unknown): XmlNode | undefined {
  if (value === undefined || value === null) return undefined;
  const s = shape(shapeName);
  switch (s.type) {
    case 'structure': {
      const out: Record<string, XmlNode | XmlNode[]> = {};
      const obj = value as Record<string, unknown>;
      for (const [name, m] of Object.entries(s.members ?? {})) {
        const v = encode(m.shape, obj[name]);
        if (v !== undefined) out[m.locationName ?? name] = v;
      }
      return out;
    }
    case 'list': {
      const items = (value as unknown[])
        .map((v) => encode(s.member?.shape ?? 'String', v))
        .filter((v): v is XmlNode => v !== undefined);
      // An empty list is an empty element, as EC2 sends it (`<tagSet/>`); the parsers read it as [].
      return items.length === 0 ? '' : { [s.member?.locationName ?? 'member']: items };
    }
    case 'timestamp': {
      const d = value instanceof Date ? value : new Date(value as string | number);
      return d.toISOString();
    }
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      // Strings and numbers; anything else is a handler bug worth seeing in the response.
      return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
  }
}

const declaration = { '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' } };

export function successXml(action: Action, result: unknown, requestId: string): string {
  const outputShape = outputShapeName(action);
  const body: Record<string, XmlNode | XmlNode[]> = { '@_xmlns': XML_NAMESPACE, requestId };
  if (outputShape) {
    const encoded = encode(outputShape, result ?? {});
    if (encoded && typeof encoded === 'object') Object.assign(body, encoded);
  } else {
    // Actions without an output shape (CreateTags, DeleteSnapshot, …) answer <return>true</return>.
    body.return = 'true';
  }
  return builder.build({ ...declaration, [`${action}Response`]: body });
}

export function errorXml(code: string, message: string, requestId: string): string {
  return builder.build({
    ...declaration,
    Response: { Errors: { Error: { Code: code, Message: message } }, RequestID: requestId },
  });
}
