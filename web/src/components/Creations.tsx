// The viewer's recent creations, kept live by one amiCreationChanges subscription for the whole
// list (every change of any of the viewer's creations, new ones made elsewhere — the CLI, another
// tab — included), so the bars move and new creations appear without reloading; elapsed and
// remaining time tick locally between updates.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Transport } from '../api.js';
import { useDashboard } from '../context.js';
import {
  WebCancelCreationDocument,
  WebCreationChangesDocument,
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
  // Subscribed before the list loads, so that a change made meanwhile is not lost.
  const live = useLiveCreations(setItems);

  useEffect(() => {
    api.request(WebCreationsDocument, { first: SHOWN }).then(
      (data) => {
        const loaded = data.amiCreations.edges.map((e) => e.node);
        // What the stream told while the list was loading is newer: it stays, on top.
        setItems((current) => [...(current ?? []), ...loaded.filter((l) => !current?.some((c) => c.id === l.id))]);
      },
      (err: Error) => setError(err.message),
    );
  }, [api]);

  useEffect(() => {
    if (latest) setItems((current) => upsert(current, latest));
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
      {live.error && (
        <p role="alert" class="error">
          Live updates stopped: {live.error}{' '}
          <button type="button" class="secondary small" onClick={live.reconnect}>
            Reconnect
          </button>
        </p>
      )}
      {!items && !error && <p role="status">Loading…</p>}
      {items?.length === 0 && <p class="empty">No creations yet. Create your first AMI with the form.</p>}
      {items && items.length > 0 && (
        <ul class="creation-list">
          {items.map((c) => (
            <CreationCard key={c.id} creation={c} onUpdate={update} receivedAt={live.receivedAt.get(c.id)} />
          ))}
        </ul>
      )}
    </section>
  );
}

type OnUpdate = (creation: WebCreationFragment) => void;

/** `current` with `next` in its place (so cards do not jump as they change), or on top when new; at most SHOWN. */
function upsert(current: WebCreationFragment[] | undefined, next: WebCreationFragment): WebCreationFragment[] {
  if (current?.some((c) => c.id === next.id)) return current.map((c) => (c.id === next.id ? next : c));
  return [next, ...(current ?? [])].slice(0, SHOWN);
}

function CreationCard(props: { creation: WebCreationFragment; onUpdate: OnUpdate; receivedAt: number | undefined }) {
  const { creation, onUpdate } = props;
  const terminal = isTerminal(creation.status);
  // When the card was first shown, for a creation the stream has said nothing of yet.
  const [shownAt] = useState(() => Date.now());
  useTicking(terminal);
  useAmiListRefresh(creation, terminal);
  const cancelling = useCancel(creation, onUpdate);
  const titleId = `creation-${creation.id}`;

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
      <Times creation={creation} terminal={terminal} receivedAt={props.receivedAt ?? shownAt} />
      {creation.regions.length > 0 && <RegionCopies regions={creation.regions} />}
      {creation.failureReason && <p class="error">{creation.failureReason}</p>}
      {cancelling.error && (
        <p role="alert" class="error">
          {cancelling.error}
        </p>
      )}
      {!terminal && (
        <div class="actions">
          <button type="button" class="secondary small" onClick={cancelling.ask}>
            Cancel creation
          </button>
        </div>
      )}
      {cancelling.confirming && (
        <ConfirmDialog
          title={`Cancel ${creation.name}?`}
          confirmLabel="Cancel creation"
          onConfirm={() => void cancelling.confirm()}
          onCancel={cancelling.dismiss}
        >
          <p>The images made so far are deregistered and their snapshots deleted.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}

/**
 * The viewer's creations over one amiCreationChanges subscription: a change replaces the
 * creation's card, a new creation (made here, with the CLI, in another
 * tab) is added. `receivedAt` is when each creation's last update arrived, so its card can count
 * elapsed and remaining time on from there.
 */
function useLiveCreations(setItems: (update: (current: WebCreationFragment[] | undefined) => WebCreationFragment[]) => void) {
  const { api } = useDashboard();
  const [receivedAt, setReceivedAt] = useState(() => new Map<string, number>());
  const [error, setError] = useState<string>();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setError(undefined);
    return api.subscribe(
      WebCreationChangesDocument,
      {},
      {
        next: (data) => {
          const next = data.amiCreationChanges;
          setReceivedAt((times) => new Map(times).set(next.id, Date.now()));
          setItems((current) => upsert(current, next));
        },
        error: (err) => setError(err.message),
        complete: () => undefined,
      },
    );
    // setItems is a state setter: its identity never changes.
  }, [api, attempt]);

  return { receivedAt, error, reconnect: () => setAttempt((a) => a + 1) };
}

/** Re-renders once a second while the creation runs, so elapsed and remaining time tick. */
function useTicking(terminal: boolean): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (terminal) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [terminal]);
}

/** Tells the dashboard when this creation's progress means the AMI lists are out of date. */
function useAmiListRefresh(creation: WebCreationFragment, terminal: boolean): void {
  const { announce, amisChanged } = useDashboard();
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
    // The end needs no reload here: amiChanges tells the AMI list of each image that became available.
    if (!isTerminal(before.status) && terminal) announce(`${creation.name}: ${label(creation.status)}`);
  }, [creation, terminal, amisChanged, announce]);
}

/** The cancel button's flow: ask, confirm in a dialog, then the mutation and its outcome. */
function useCancel(creation: WebCreationFragment, onUpdate: OnUpdate) {
  const { api, announce } = useDashboard();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();

  async function confirm() {
    setConfirming(false);
    setError(undefined);
    try {
      const { cancelAmiCreation: result } = await api.request(WebCancelCreationDocument, { id: creation.id });
      if (result.__typename === 'CancelAmiCreationSuccess') {
        onUpdate(result.creation);
        announce(`${creation.name}: cancelled`);
      } else setError(result.message);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return { confirming, error, confirm, ask: () => setConfirming(true), dismiss: () => setConfirming(false) };
}

function Times({ creation, terminal, receivedAt }: { creation: WebCreationFragment; terminal: boolean; receivedAt: number }) {
  // The server's figures were true at receivedAt; count on from there until the next update.
  const since = terminal ? 0 : (Date.now() - receivedAt) / 1000;
  const elapsed = creation.elapsedSeconds + since;
  const remaining =
    creation.estimatedSecondsRemaining == null ? undefined : Math.max(0, creation.estimatedSecondsRemaining - since);
  return (
    <dl class="times">
      <div>
        <dt>Elapsed</dt>
        <dd data-testid="elapsed">{duration(elapsed)}</dd>
      </div>
      <div>
        <dt>Remaining</dt>
        <dd data-testid="remaining">
          {terminal ? '—' : remaining === undefined ? 'estimating…' : `about ${duration(remaining)}`}
        </dd>
      </div>
    </dl>
  );
}

/** "queued" for a copy waiting behind EC2's limit of concurrent copies to its region, else its status. */
const copyState = (r: WebCreationFragment['regions'][number]) =>
  r.status === 'PENDING' && r.queuedAt ? 'queued' : label(r.status);

function RegionCopies({ regions }: { regions: WebCreationFragment['regions'] }) {
  return (
    <ul class="regions" aria-label="Copies to other regions">
      {regions.map((r) => (
        <li key={r.region} data-state={copyState(r)}>
          <span class="region-name">{r.region}</span>
          <Bar value={r.progress} label={`Copy to ${r.region}`} text={r.message ?? copyState(r)} small />
          <span class="region-state" data-testid="copy-state">
            {r.progress}% · {copyState(r)}
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
