// Users and security: every transport demands a valid token, each user sees and changes only their
// own creations and AMIs, and abusive requests get clear errors without harming the server.
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AmiCreationDocument,
  AmiCreationsDocument,
  AmiProgressDocument,
  AmiStatusDocument,
  CancelAmiCreationDocument,
  CommunityAmisDocument,
  CreateAmiDocument,
  DeregisterAmiDocument,
  PublishAmiDocument,
  ServerInfoDocument,
  ShareAmiDocument,
  UserAmisDocument,
} from '../../src/generated/graphql/graphql.js';
import { SEEDED_INSTANCES } from '../../simulator/index.js';
import { collectOverSse, collectOverWebSocket, eventually, startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp;
let alice: string;
let bob: string;
let aliceCreationId: string;
let aliceAmiId: string;

beforeAll(async () => {
  t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000', MUTATIONS_PER_MINUTE: '600' });
  alice = await t.tokenFor('alice');
  bob = await t.tokenFor('bob');
  await t.setOwner([SEEDED_INSTANCES['demo-workstation']], 'alice');
  const created = await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'alice env' } }, alice);
  if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(created.createAmi.__typename);
  aliceCreationId = created.createAmi.creation.id;
  aliceAmiId = created.createAmi.creation.amiId!;
  await eventually(async () => {
    const c = await t.gql(AmiCreationDocument, { id: aliceCreationId }, alice);
    return c.amiCreation?.status === 'COMPLETED' ? true : undefined;
  });
});

afterAll(() => t.stop());

async function post(body: string, headers: Record<string, string> = {}) {
  return fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const serverInfoQuery = JSON.stringify({ query: print(ServerInfoDocument) });

describe('authentication on every transport', () => {
  const badHeaders: [string, () => Record<string, string>][] = [
    ['no token', () => ({})],
    ['an unknown token', () => ({ authorization: 'Bearer pam_not-a-real-token' })],
    ['a malformed header', () => ({ authorization: 'Basic abc' })],
  ];
  for (const [what, headers] of badHeaders) {
    it(`answers HTTP 401 UNAUTHENTICATED to ${what}`, async () => {
      const res = await post(serverInfoQuery, headers());
      expect(res.status).toBe(401);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(body.errors[0]!.message).toMatch(/token/i);
    });
  }

  it('answers 401 to a revoked token, which worked before', async () => {
    const { token, id } = await t.app.services.auth.createToken('temp');
    expect((await post(serverInfoQuery, { authorization: `Bearer ${token}` })).status).toBe(200);
    await t.app.services.auth.revoke(id);
    expect((await post(serverInfoQuery, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('refuses an SSE subscription without a valid token', async () => {
    await expect(
      collectOverSse(t.url, AmiProgressDocument, { id: aliceCreationId }, { token: 'pam_bogus', timeoutMs: 5000 }),
    ).rejects.toThrow(/HTTP 401/);
  });

  it('closes a WebSocket with 4403 when connectionParams carry no valid token', async () => {
    const code = await new Promise<number>((resolve) => {
      const client = createClient({
        url: t.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: 'Bearer pam_bogus' },
        on: { closed: (event) => resolve((event as { code: number }).code) },
      });
      client.subscribe(
        { query: print(ServerInfoDocument) },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
    });
    expect(code).toBe(4403);
  });

  it('keeps /health and the GraphiQL page open without a token', async () => {
    expect((await fetch(t.url.replace('/graphql', '/health'))).status).toBe(200);
    const page = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('knows the viewer by the token', async () => {
    expect((await t.gql(ServerInfoDocument, {}, alice)).viewer.user).toBe('alice');
    expect((await t.gql(ServerInfoDocument, {}, bob)).viewer.user).toBe('bob');
  });
});

describe('isolation between users', () => {
  it("reads another user's creation and AMI as null or empty on every query", async () => {
    expect((await t.gql(AmiCreationDocument, { id: aliceCreationId }, bob)).amiCreation).toBeNull();
    expect((await t.gql(AmiStatusDocument, { ref: aliceCreationId }, bob)).amiStatus).toBeNull();
    expect((await t.gql(AmiStatusDocument, { ref: aliceAmiId }, bob)).amiStatus).toBeNull();
    expect((await t.gql(AmiCreationsDocument, {}, bob)).amiCreations.totalCount).toBe(0);
    expect((await t.gql(UserAmisDocument, {}, bob)).userAmis.totalCount).toBe(0);
    // …while alice sees her own.
    expect((await t.gql(AmiStatusDocument, { ref: aliceAmiId }, alice)).amiStatus?.id).toBe(aliceCreationId);
    expect((await t.gql(UserAmisDocument, {}, alice)).userAmis.totalCount).toBe(1);
  });

  it("answers ForbiddenError to mutations on another user's AMI or creation, and changes nothing", async () => {
    const publish = await t.gql(PublishAmiDocument, { input: { amiId: aliceAmiId, public: true } }, bob);
    expect(publish.publishAmi).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const share = await t.gql(ShareAmiDocument, { input: { amiId: aliceAmiId, accountIds: ['111122223333'] } }, bob);
    expect(share.shareAmi).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const deregister = await t.gql(DeregisterAmiDocument, { input: { amiId: aliceAmiId } }, bob);
    expect(deregister.deregisterAmi).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const cancel = await t.gql(CancelAmiCreationDocument, { id: aliceCreationId }, bob);
    expect(cancel.cancelAmiCreation).toMatchObject({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
    const mine = await t.gql(UserAmisDocument, {}, alice);
    expect(mine.userAmis.edges[0]!.node).toMatchObject({ state: 'AVAILABLE', visibility: 'PRIVATE' });
  });

  it("errors a subscription to another user's creation over WebSocket and SSE", async () => {
    await expect(
      collectOverWebSocket(t.url, AmiProgressDocument, { id: aliceCreationId }, { token: bob, timeoutMs: 5000 }),
    ).rejects.toThrow(/CREATION_NOT_FOUND|No creation/);
    await expect(
      collectOverSse(t.url, AmiProgressDocument, { id: aliceCreationId }, { token: bob, timeoutMs: 5000 }),
    ).rejects.toThrow(/No creation/);
    const own = await collectOverWebSocket(t.url, AmiProgressDocument, { id: aliceCreationId }, { token: alice });
    expect(own.at(-1)!.amiProgress.status).toBe('COMPLETED');
  });

  it('shows published AMIs to every user in communityAmis', async () => {
    const publish = await t.gql(PublishAmiDocument, { input: { amiId: aliceAmiId, public: true } }, alice);
    expect(publish.publishAmi.__typename).toBe('PublishAmiSuccess');
    const seenByBob = await t.gql(CommunityAmisDocument, {}, bob);
    expect(seenByBob.communityAmis.edges.map((e) => e.node.amiId)).toContain(aliceAmiId);
    expect(seenByBob.communityAmis.edges[0]!.node.publisher).toBe('alice');
    await t.gql(PublishAmiDocument, { input: { amiId: aliceAmiId, public: false } }, alice);
    expect((await t.gql(CommunityAmisDocument, {}, bob)).communityAmis.totalCount).toBe(0);
  });
});

describe('abuse gets clear errors, never a 5xx (but 413), and changes nothing', () => {
  const auth = () => ({ authorization: `Bearer ${alice}` });
  const creationsBefore = () => t.gql(AmiCreationsDocument, {}, alice).then((d) => d.amiCreations.totalCount);

  it('rejects a query nested deeper than the limit', async () => {
    // The schema itself has no cycles; introspection does (type → ofType → …).
    const depth = (n: number) => `{ __schema { types { ${'ofType { '.repeat(n)}name${' }'.repeat(n)} } } }`;
    expect((await post(JSON.stringify({ query: depth(3) }), auth())).status).toBe(200);
    const res = await post(JSON.stringify({ query: depth(20) }), auth());
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('rejects an alias bomb', async () => {
    const aliases = Array.from({ length: 200 }, (_, i) => `a${i}: serverInfo { version }`).join(' ');
    const res = await post(JSON.stringify({ query: `{ ${aliases} }` }), auth());
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toMatch(/alias|token/i);
  });

  it('answers 413 to an oversized body', async () => {
    const res = await post(
      JSON.stringify({ query: '{ viewer { user } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
      auth(),
    );
    expect(res.status).toBe(413);
  });

  it('answers 400 to malformed JSON and to a wrong content type', async () => {
    const malformed = await post('{"query": "{ viewer { user } ', auth());
    expect(malformed.status).toBe(400);
    const wrongType = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'text/plain', ...auth() }, body: 'hello' });
    expect(wrongType.status).toBeGreaterThanOrEqual(400);
    expect(wrongType.status).toBeLessThan(500);
  });

  it('does not suggest field names to a client that guesses', async () => {
    const res = await post(JSON.stringify({ query: '{ serverInf { version } }' }), auth());
    const body = (await res.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });

  it('limits a burst of mutations per token with RATE_LIMITED and keeps answering afterwards', async () => {
    const before = await creationsBefore();
    const limited = await startTestApp({ EC2_BACKEND: 'simulator', MUTATIONS_PER_MINUTE: '5' }, {}, { listen: false });
    try {
      const codes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await limited.gqlRaw(CancelAmiCreationDocument, { id: `missing-${i}` });
        codes.push((res.errors?.[0]?.extensions?.code as string) ?? res.data?.cancelAmiCreation.__typename ?? '');
      }
      expect(codes.slice(0, 5).every((c) => c === 'NotFoundError')).toBe(true);
      expect(codes.slice(5)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      expect((await limited.gql(ServerInfoDocument, {})).serverInfo.ec2Backend).toBe('SIMULATOR');
    } finally {
      await limited.stop();
    }
    expect(await creationsBefore()).toBe(before);
  });
});
