// /metrics against the simulator: Prometheus text that parses, counters that move by exactly what
// happened (operations, EC2 calls, SQLite statements), gauges read from SQLite and the tracker,
// open subscriptions per transport, and the METRICS / METRICS_TOKEN switches.
import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  AmiCreationsDocument,
  AmiProgressDocument,
  AmiStatusDocument,
  CreateAmiDocument,
  ServerInfoDocument,
} from '../../src/generated/graphql/graphql.js';
import { createMetrics } from '../../src/http/metrics.js';
import { eventually, startTestApp, type TestApp } from '../support/harness.js';
import { baseOf, parsePrometheus, scrape } from './support.js';

describe('metrics after a creation and a few queries', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '1000', INSTANCE_ID: 'replica-7' });
    base = baseOf(t.url);
  });
  afterAll(() => t.stop());

  it('names the replica on every series (INSTANCE_ID)', async () => {
    const res = await fetch(new URL('/metrics', base));
    const series = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(series.length).toBeGreaterThan(20);
    expect(series.filter((l) => !l.includes('instance="replica-7"'))).toEqual([]);
  });

  it('serves Prometheus text whose counters moved by exactly the operations, EC2 calls and creations made', async () => {
    const before = await scrape(base);
    const created = await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'metrics-one' } });
    if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(created));
    const id = created.createAmi.creation.id;
    await eventually(async () => {
      const s = await t.gql(AmiStatusDocument, { ref: id });
      return s.amiStatus?.status === 'COMPLETED' ? true : undefined;
    });
    const after1 = await scrape(base);
    for (let i = 0; i < 3; i++) await t.gql(ServerInfoDocument, {});
    const missing = await t.gqlRaw(CreateAmiDocument, { input: { instance: 'i-0123456789abcdef0', name: 'metrics-missing' } });
    expect(missing.data?.createAmi.__typename).toBe('NotFoundError');
    const after = await scrape(base);

    const op = (name: string, type: string, outcome = 'ok') => ({ operation_name: name, operation_type: type, outcome });
    expect(
      after.value('prism_ami_graphql_operations_total', op('ServerInfo', 'query')) -
        after1.value('prism_ami_graphql_operations_total', op('ServerInfo', 'query')),
    ).toBe(3);
    expect(after.value('prism_ami_graphql_operations_total', op('CreateAmi', 'mutation'))).toBe(2);
    expect(before.value('prism_ami_graphql_operations_total', op('CreateAmi', 'mutation'))).toBe(0);
    expect(after.value('prism_ami_graphql_operation_duration_seconds_count', op('ServerInfo', 'query'))).toBe(
      after.value('prism_ami_graphql_operations_total', op('ServerInfo', 'query')),
    );
    // The yoga plugin's own metrics are in the same registry.
    expect(after.types.get('graphql_envelop_phase_execute')).toBe('histogram');
    expect(after.value('graphql_envelop_request', { operationType: 'mutation' })).toBe(2);

    expect(after.value('prism_ami_ec2_calls_total', { action: 'CreateImage', outcome: 'ok' })).toBe(1);
    expect(after.value('prism_ami_ec2_call_duration_seconds_count', { action: 'CreateImage', outcome: 'ok' })).toBe(1);
    // The unknown instance: EC2 answered InvalidInstanceID.NotFound, once.
    expect(
      after.value('prism_ami_ec2_calls_total', { action: 'DescribeInstances', outcome: 'error' }) -
        after1.value('prism_ami_ec2_calls_total', { action: 'DescribeInstances', outcome: 'error' }),
    ).toBe(1);
    expect(after.value('prism_ami_ec2_calls_total', { outcome: 'throttled' })).toBe(0);

    expect(after.value('prism_ami_creations', { status: 'COMPLETED' })).toBe(1);
    expect(after.value('prism_ami_creations', { status: 'IN_PROGRESS' })).toBe(0);
    expect(after.value('prism_ami_tracked_creations')).toBe(0);
    expect(after.value('prism_ami_tracker_running')).toBe(1);
    expect(after.value('prism_ami_tracker_last_tick_age_seconds')).toBeLessThan(5);
    expect(after.types.get('prism_ami_tracker_tick_duration_seconds')).toBe('histogram');
    expect(after.value('prism_ami_tracker_tick_duration_seconds_count')).toBeGreaterThan(
      before.value('prism_ami_tracker_tick_duration_seconds_count'),
    );
    expect(after.value('prism_ami_sqlite_query_duration_seconds_count')).toBeGreaterThan(
      before.value('prism_ami_sqlite_query_duration_seconds_count'),
    );
  });

  it('counts an operation that ends in GraphQL errors as an error', async () => {
    const before = await scrape(base);
    const res = await t.gqlRaw(AmiCreationsDocument, { first: 100_000 });
    expect(res.errors?.length).toBeGreaterThan(0);
    const after = await scrape(base);
    const labels = { operation_name: 'AmiCreations', operation_type: 'query', outcome: 'error' };
    expect(
      after.value('prism_ami_graphql_operations_total', labels) - before.value('prism_ami_graphql_operations_total', labels),
    ).toBe(1);
  });

  it('gauges a creation in progress per region while the tracker follows it', async () => {
    // Freeze the tracker so the creation stays in progress while we look.
    await t.app.tracker.stop();
    try {
      const created = await t.gql(CreateAmiDocument, { input: { instance: 'genomics-pipeline', name: 'metrics-tracked' } });
      expect(created.createAmi.__typename).toBe('CreateAmiSuccess');
      const m = await scrape(base);
      expect(m.value('prism_ami_tracked_creations', { region: 'us-east-1' })).toBe(1);
      expect(
        m.value('prism_ami_creations', { status: 'IN_PROGRESS' }) + m.value('prism_ami_creations', { status: 'PENDING' }),
      ).toBe(1);
      expect(m.value('prism_ami_tracker_running')).toBe(0);
    } finally {
      t.app.tracker.start();
    }
  });
});

describe('open subscriptions', () => {
  let t: TestApp;
  let base: string;
  let id: string;
  beforeAll(async () => {
    // Slow snapshots: the creation (and its subscriptions) stay open for the whole test.
    t = await startTestApp({ EC2_BACKEND: 'simulator', SIMULATOR_SPEED_GIB_PER_SECOND: '0.01' });
    base = baseOf(t.url);
    const created = await t.gql(CreateAmiDocument, { input: { instance: 'demo-workstation', name: 'metrics-subscribed' } });
    if (created.createAmi.__typename !== 'CreateAmiSuccess') throw new Error(JSON.stringify(created));
    id = created.createAmi.creation.id;
  });
  afterAll(() => t.stop());

  it('are gauged per transport while they stream and released when the client leaves', async () => {
    const open = async (transport: string) => (await scrape(base)).value('prism_ami_subscriptions_open', { transport });
    expect(await open('ws')).toBe(0);
    expect(await open('sse')).toBe(0);

    const ws = createClient({
      url: t.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${t.token}` },
    });
    const firstWs = new Promise<void>((resolve, reject) => {
      ws.subscribe(
        { query: print(AmiProgressDocument), variables: { id } },
        { next: () => resolve(), error: reject, complete: () => undefined },
      );
    });
    await firstWs;
    await eventually(async () => ((await open('ws')) === 1 ? true : undefined), 5_000);

    const controller = new AbortController();
    const sse = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.token}` },
      body: JSON.stringify({ query: print(AmiProgressDocument), variables: { id } }),
      signal: controller.signal,
    });
    expect(sse.status).toBe(200);
    await eventually(async () => ((await open('sse')) === 1 ? true : undefined), 5_000);
    expect(await open('ws')).toBe(1);

    controller.abort();
    await ws.dispose();
    await eventually(async () => ((await open('sse')) === 0 && (await open('ws')) === 0 ? true : undefined), 5_000);
  });

  it('counts every graphql-ws subscriber of a shared cohort as open, and each delivered message once per subscriber', async () => {
    const open = async () => (await scrape(base)).value('prism_ami_subscriptions_open', { transport: 'ws' });
    const ws = createClient({
      url: t.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${t.token}` },
    });
    const subscribe = () =>
      new Promise<void>((resolve, reject) => {
        ws.subscribe(
          { query: print(AmiProgressDocument), variables: { id } },
          { next: () => resolve(), error: reject, complete: () => undefined },
        );
      });
    const counts = async () => {
      const m = await scrape(base);
      const of = (name: string) => m.value(name, { transport: 'ws' }) || 0;
      return { executions: of('prism_ami_subscription_executions_total'), messages: of('prism_ami_subscription_messages_total') };
    };
    const before = await counts();
    await Promise.all([subscribe(), subscribe(), subscribe()]);
    expect(t.app.cohorts.stats.cohorts).toBe(1);
    await eventually(async () => ((await open()) === 3 ? true : undefined), 5_000);
    // One execution of the current state for the three (each joiner gets it as executed, or replayed).
    const after = await counts();
    expect(after.executions - before.executions).toBeGreaterThanOrEqual(1);
    expect(after.messages - before.messages).toBe(3 * (after.executions - before.executions));
    await ws.dispose();
    await eventually(async () => ((await open()) === 0 ? true : undefined), 5_000);
  });
});

describe('metrics switches and EC2 throttling', () => {
  it('classifies EC2 calls as ok, throttled (still throttled after the SDK retries) or error', async () => {
    const metrics = createMetrics({ enabled: true, token: undefined });
    metrics.observeEc2Call({ action: 'DescribeImages', region: 'us-east-1', durationMs: 12 });
    metrics.observeEc2Call({ action: 'DescribeImages', region: 'us-east-1', durationMs: 900, errorCode: 'RequestLimitExceeded' });
    metrics.observeEc2Call({ action: 'DescribeImages', region: 'eu-west-1', durationMs: 30, errorCode: 'InvalidAMIID.NotFound' });
    metrics.observeEc2Call({ action: 'CreateImage', region: 'us-east-1', durationMs: 5, errorCode: 'ECONNREFUSED' });
    const m = parsePrometheus(await metrics.registry.metrics());
    expect(m.value('prism_ami_ec2_calls_total', { action: 'DescribeImages', outcome: 'ok' })).toBe(1);
    expect(m.value('prism_ami_ec2_calls_total', { action: 'DescribeImages', outcome: 'throttled' })).toBe(1);
    expect(m.value('prism_ami_ec2_calls_total', { action: 'DescribeImages', region: 'eu-west-1', outcome: 'error' })).toBe(1);
    expect(m.value('prism_ami_ec2_calls_total', { action: 'CreateImage', outcome: 'error' })).toBe(1);
    expect(m.value('prism_ami_ec2_call_duration_seconds_sum', { action: 'DescribeImages', outcome: 'throttled' })).toBeCloseTo(
      0.9,
    );
    expect(m.value('prism_ami_ec2_call_duration_seconds_bucket', { action: 'DescribeImages', outcome: 'ok', le: '0.025' })).toBe(
      1,
    );
  });

  it('does not serve /metrics with METRICS=off', async () => {
    const t = await startTestApp({ EC2_BACKEND: 'simulator', METRICS: 'off' });
    try {
      const res = await fetch(new URL('/metrics', t.url));
      const body = await res.text();
      expect(res.status).toBe(404);
      expect(body).not.toContain('prism_ami_');
    } finally {
      await t.stop();
    }
  });

  it('answers /metrics only with the METRICS_TOKEN bearer when one is configured', async () => {
    const token = 'metrics-secret-0123456789';
    const t = await startTestApp({ EC2_BACKEND: 'simulator', METRICS_TOKEN: token });
    try {
      const url = new URL('/metrics', t.url);
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${t.token}` } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toContain('text/plain');
      expect(parsePrometheus(await ok.text()).types.get('prism_ami_ec2_calls_total')).toBe('counter');
    } finally {
      await t.stop();
    }
  });
});
