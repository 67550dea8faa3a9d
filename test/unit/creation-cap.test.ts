// The active-creation cap with this process's reservations: recorded creations and the ones still
// being started count together, and a release gives the place back exactly once.
import { describe, expect, it } from 'vitest';
import { createCreationCap } from '../../src/services/creation-cap.js';

describe('creation cap (in-process reservations)', () => {
  it('refuses past the cap, counting recorded creations and places being started', async () => {
    const cap = createCreationCap((user) => Promise.resolve(user === 'alice' ? 1 : 0), 2);
    const release = await cap.reserve('alice');
    await expect(cap.reserve('alice')).rejects.toThrow('You have 2 active AMI creations; the limit is 2 per user');
    await expect(cap.reserve('bob')).resolves.toBeTypeOf('function');
    release();
    release();
    const again = await cap.reserve('alice');
    await expect(cap.reserve('alice')).rejects.toThrow('MAX_ACTIVE_CREATIONS_PER_USER');
    again();
  });
});
