// The viewer's recent creations. Each unfinished one follows the amiProgress subscription (its
// current state at once, then every change, until it ends), so the bars move without reloading;
// elapsed and remaining time tick locally between updates.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Transport } from '../api.js';
import { useDashboard } from '../context.js';
import {
  WebAmiProgressDocument,
  WebCancelCreationDocument,
  WebCreationsDocument,
  type WebCreationFragment,
} from '../generated/graphql.js';
import { duration, isTerminal, label, when } from '../format.js';
import { ConfirmDialog } from './ConfirmDialog.js';

const SHOWN = 10;

export function Creations({ latest, transport }: { latest: WebCreationFragment | undefined; transport: Transport }) {
  const { api } = useDashboard();
  const [items, setItems] = useState<WebCreationFragment[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    api.request(WebCreationsDocument, { first: SHOWN }).then(
      (data) => {
        const loaded = data.amiCreations.edges.map((e) => e.node);
        // A creation made while the list was loading stays on top.
        setItems((current) => [...(current ?? []).filter((c) => !loaded.some((l) => l.id === c.id)), ...loaded]);
      },
      (err: Error) => setError(err.message),
    );
  }, [api]);

  useEffect(() => {
    if (latest) setItems((current) => [latest, ...(current ?? []).filter((c) => c.id !== latest.id)].slice(0, SHOWN));
  }, [latest]);

  const update = (next: WebCreationFragment) => setItems((current) => current?.map((c) => (c.id === next.id ? next : c)));

  return (
    <section class="card creations" aria-labelledby="creations-title">
      <div class="section-head">
        <h2 id="creations-title">Creations</h2>
        <span class="meta" data-testid="transport">
          Live over {transport === 'sse' ? 'Server-Sent Events' : 'WebSocket'}
        </span>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!items && !error && <p role="status">Loading…</p>}
      {items?.length === 0 && <p class="empty">No creations yet. Create your first AMI with the form.</p>}
      {items && items.length > 0 && (
        <ul class="creation-list">
          {items.map((c) => (
            <CreationCard key={c.id} creation={c} onUpdate={update} />
          ))}
        </ul>
      )}
    </section>
  );
}

function CreationCard({ creation, onUpdate }: { creation: WebCreationFragment; onUpdate: (c: WebCreationFragment) => void }) {
  const { api, announce, amisChanged } = useDashboard();
  const terminal = isTerminal(creation.status);
  const [receivedAt, setReceivedAt] = useState(() => Date.now());
  const [liveError, setLiveError] = useState<string>();
  const [attempt, setAttempt] = useState(0);
  const [confirming, setConfirming] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const [, setTick] = useState(0);

  useEffect(() => {
    if (terminal) return;
    setLiveError(undefined);
    return api.subscribe(
      WebAmiProgressDocument,
      { id: creation.id },
      {
        next: (data) => {
          setReceivedAt(Date.now());
          onUpdate(data.amiProgress);
        },
        error: (err) => setLiveError(err.message),
        complete: () => undefined,
      },
    );
    // onUpdate only calls setItems: resubscribing when it changes identity would be wasted work.
  }, [api, creation.id, terminal, attempt]);

  // Tick elapsed / remaining once a second while it runs.
  useEffect(() => {
    if (terminal) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [terminal]);

  const previous = useRef(creation);
  useEffect(() => {
    const before = previous.current;
    previous.current = creation;
    // A new image id, a new stage (SNAPSHOTTING → COPYING: the source is available, copies are
    // registered) or the end: the AMI lists are out of date.
    const regionIds = (c: WebCreationFragment) => c.regions.filter((r) => r.amiId).length;
    if (before.amiId !== creation.amiId || before.stage !== creation.stage || regionIds(before) !== regionIds(creation)) {
      if (!terminal) amisChanged();
    }
    if (!isTerminal(before.status) && terminal) {
      amisChanged();
      announce(`${creation.name}: ${label(creation.status)}`);
    }
  }, [creation, terminal, amisChanged, announce]);

  const since = terminal ? 0 : (Date.now() - receivedAt) / 1000;
  const elapsed = creation.elapsedSeconds + since;
  const remaining = creation.estimatedSecondsRemaining == null ? undefined : Math.max(0, creation.estimatedSecondsRemaining - since);
  const titleId = `creation-${creation.id}`;

  async function cancel() {
    setConfirming(false);
    setActionError(undefined);
    try {
      const { cancelAmiCreation: result } = await api.request(WebCancelCreationDocument, { id: creation.id });
      if (result.__typename === 'CancelAmiCreationSuccess') {
        onUpdate(result.creation);
        announce(`${creation.name}: cancelled`);
      } else setActionError(result.message);
    } catch (err) {
      setActionError((err as Error).message);
    }
  }

  return (
    <li class="creation" data-status={creation.status} data-testid="creation" aria-labelledby={titleId}>
      <div class="creation-head">
        <h3 id={titleId}>{creation.name}</h3>
        <span class={`badge status-${creation.status.toLowerCase()}`} data-testid="status">
          {label(creation.status)}
        </span>
      </div>
      <p class="sub">
        <code>{creation.instanceId}</code> → {creation.amiId ? <code>{creation.amiId}</code> : <span>AMI id pending</span>} in{' '}
        {creation.sourceRegion} · started {when(creation.createdAt)}
      </p>
      <Bar value={creation.progress} label={`${creation.name} progress`} text={creation.message} />
      <p class="progress-line">
        <strong data-testid="percent">{creation.progress}%</strong>
        <span class="stage">{label(creation.stage)}</span>
        <span data-testid="message">{creation.message}</span>
      </p>
      <dl class="times">
        <div>
          <dt>Elapsed</dt>
          <dd data-testid="elapsed">{duration(elapsed)}</dd>
        </div>
        <div>
          <dt>Remaining</dt>
          <dd data-testid="remaining">{terminal ? '—' : remaining === undefined ? 'estimating…' : `about ${duration(remaining)}`}</dd>
        </div>
      </dl>
      {creation.regions.length > 0 && (
        <ul class="regions" aria-label="Copies to other regions">
          {creation.regions.map((r) => (
            <li key={r.region}>
              <span class="region-name">{r.region}</span>
              <Bar value={r.progress} label={`Copy to ${r.region}`} text={r.message ?? label(r.status)} small />
              <span class="region-state">
                {r.progress}% · {label(r.status)}
                {r.amiId && (
                  <>
                    {' '}
                    · <code>{r.amiId}</code>
                  </>
                )}
              </span>
              {r.message && !r.message.endsWith(`${r.progress}%`) && <span class="hint region-message">{r.message}</span>}
            </li>
          ))}
        </ul>
      )}
      {creation.failureReason && <p class="error">{creation.failureReason}</p>}
      {liveError && (
        <p role="alert" class="error">
          Live updates stopped: {liveError}{' '}
          <button type="button" class="secondary small" onClick={() => setAttempt((a) => a + 1)}>
            Reconnect
          </button>
        </p>
      )}
      {actionError && (
        <p role="alert" class="error">
          {actionError}
        </p>
      )}
      {!terminal && (
        <div class="actions">
          <button type="button" class="secondary small" onClick={() => setConfirming(true)}>
            Cancel creation
          </button>
        </div>
      )}
      {confirming && (
        <ConfirmDialog title={`Cancel ${creation.name}?`} confirmLabel="Cancel creation" onConfirm={() => void cancel()} onCancel={() => setConfirming(false)}>
          <p>The images made so far are deregistered and their snapshots deleted.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}

export function Bar({ value, label: name, text, small }: { value: number; label: string; text: string; small?: boolean }) {
  const pct = Math.min(100, Math.max(0, value));
  return (
    <div
      class={`bar${small ? ' small' : ''}`}
      role="progressbar"
      aria-label={name}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-valuetext={`${pct}% – ${text}`}
    >
      <span style={{ width: `${pct}%` }} />
    </div>
  );
}
