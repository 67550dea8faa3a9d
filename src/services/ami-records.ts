// The AMI row a creation registers for each image it makes (the source image and every copy).
import type { NewAmi } from '../db/amis.js';

export interface CreationFacts {
  id: string;
  owner: string;
  name: string;
  description: string | null;
  architecture: string | null;
  sizeGiB: number;
  templateName: string | null;
}

/** A just-requested image: pending (and private, the column's default), its snapshots not known yet. */
export function pendingAmi(c: CreationFacts, amiId: string, region: string, at: number): NewAmi {
  return {
    amiId,
    region,
    owner: c.owner,
    creationId: c.id,
    name: c.name,
    description: c.description,
    architecture: c.architecture,
    state: 'PENDING',
    sizeGiB: c.sizeGiB,
    templateName: c.templateName,
    snapshotIds: [],
    createdAt: at,
    updatedAt: at,
  };
}
