/** EC2 resource ids: `<prefix>-` followed by 17 hex digits (new style) or 8 (old style, still valid). */
import { randomBytes, randomUUID } from 'node:crypto';
import { errors } from './errors.js';

export type IdPrefix = 'i' | 'r' | 'ami' | 'snap' | 'vol';

// Ids come from crypto, not from the injectable `random`: tests pin `random` to force fault decisions,
// and a pinned generator would hand every resource the same id.
export function newId(prefix: IdPrefix): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export const newRequestId = (): string => randomUUID();

export function isId(prefix: IdPrefix, id: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(id);
}

const malformedCode: Record<IdPrefix, string> = {
  i: 'InvalidInstanceID.Malformed',
  r: 'InvalidReservationID.Malformed',
  ami: 'InvalidAMIID.Malformed',
  snap: 'InvalidSnapshotID.Malformed',
  vol: 'InvalidVolumeID.Malformed',
};

/** Throws EC2's `…Malformed` error for the first id that is not a well-formed `prefix` id. */
export function assertIds(prefix: IdPrefix, ids: readonly string[]): void {
  for (const id of ids) if (!isId(prefix, id)) throw errors.malformedId(malformedCode[prefix], id, prefix);
}
