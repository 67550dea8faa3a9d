// The instances the viewer may capture, beside the create form's Instance field: choosing one fills
// the field with its id (typing an id or a Name tag there still works). Each shows its name, state,
// size and what an AMI of it would cost in snapshot storage per month.
import { useEffect, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { useDashboard } from '../context.js';
import { WebInstancesDocument, type WebInstancesQuery } from '../generated/graphql.js';
import { label } from '../format.js';

type InstanceNode = WebInstancesQuery['instances']['edges'][number]['node'];

/** Enough for a picker; the CLI and the API page through more. */
const PICKER_SIZE = 50;

export function InstancePicker({ selected, onPick }: { selected: string; onPick: (instanceId: string) => void }) {
  const { instances, error, more, reload } = useInstances();
  return (
    <fieldset class="instance-picker" data-testid="instance-picker">
      <legend>Your instances</legend>
      {error && <p class="error">{error}</p>}
      {instances === undefined && !error && <p class="hint">Loading instances…</p>}
      {instances?.length === 0 && <p class="empty">No instance you may capture in this region.</p>}
      {instances && instances.length > 0 && (
        <ul class="instance-list">
          {instances.map((i) => (
            <InstanceOption key={i.instanceId} instance={i} selected={selected === i.instanceId} onPick={onPick} />
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="secondary small" onClick={reload}>
          Refresh instances
        </button>
        {more && <p class="hint">Showing the first {PICKER_SIZE}; type any other id or Name tag above.</p>}
      </div>
    </fieldset>
  );
}

function InstanceOption(props: { instance: InstanceNode; selected: boolean; onPick: (instanceId: string) => void }) {
  const { instance: i, selected } = props;
  const reasonId = `instance-reason-${i.instanceId}`;
  return (
    <li class={`instance-option${selected ? ' selected' : ''}`} data-testid="instance-option">
      <button
        type="button"
        class="secondary"
        aria-pressed={selected}
        disabled={!i.capturable}
        aria-describedby={i.capturable ? undefined : reasonId}
        onClick={() => props.onPick(i.instanceId)}
      >
        <span class="instance-name">{i.name ?? i.instanceId}</span>
        <span class="meta">
          {i.name ? `${i.instanceId} · ` : ''}
          {label(i.state)} · {i.sizeGiB} GiB · ${i.storageMonthlyUsd.toFixed(2)}/month
        </span>
        {i.lastAmi && <span class="meta">Last AMI: {i.lastAmi.name}</span>}
      </button>
      {!i.capturable && (
        <p class="hint" id={reasonId}>
          {i.capturableReason}
        </p>
      )}
    </li>
  );
}

function useInstances() {
  const { api, amisVersion } = useDashboard();
  const [instances, setInstances] = useState<InstanceNode[]>();
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    setError(undefined);
    api
      .request(WebInstancesDocument, { first: PICKER_SIZE })
      .then(({ instances: page }) => {
        if (!current) return;
        setInstances(page.edges.map((e) => e.node));
        setMore(page.pageInfo.hasNextPage);
      })
      .catch((err: unknown) => current && setError(`Instances could not be listed: ${(err as ApiError).message}`));
    return () => {
      current = false;
    };
    // A new AMI changes an instance's last AMI; Refresh picks up instances launched meanwhile.
  }, [api, amisVersion, version]);
  return { instances, error, more, reload: () => setVersion((v) => v + 1) };
}
