// Launch a workstation from an available AMI: a dialog asks for the instance type (t3.micro, or
// t4g.micro for an arm64 AMI) and an optional name, then the card says "Launching i-…" and polls
// instance(id) each second until EC2 reports it running.
import { useEffect, useState } from 'preact/hooks';
import { useDashboard } from '../context.js';
import {
  WebInstanceDocument,
  WebLaunchInstanceDocument,
  type WebAmiFragment,
  type WebLaunchedInstanceFragment,
} from '../generated/graphql.js';
import { ConfirmDialog } from './ConfirmDialog.js';

const POLL_MS = 1000;

export function LaunchAction({ ami }: { ami: WebAmiFragment }) {
  const [open, setOpen] = useState(false);
  const [instance, setInstance] = useState<WebLaunchedInstanceFragment>();
  if (ami.state !== 'AVAILABLE') return null;
  return (
    <div class="launch">
      <button type="button" class="small" onClick={() => setOpen(true)}>
        Launch…
      </button>
      {instance && <LaunchStatus launched={instance} />}
      {open && (
        <LaunchDialog
          ami={ami}
          onLaunched={(launched) => {
            setInstance(launched);
            setOpen(false);
          }}
          onCancel={() => setOpen(false)}
        />
      )}
    </div>
  );
}

function LaunchDialog(props: {
  ami: WebAmiFragment;
  onLaunched: (instance: WebLaunchedInstanceFragment) => void;
  onCancel: () => void;
}) {
  const { ami } = props;
  const { api, announce } = useDashboard();
  const [instanceType, setInstanceType] = useState(ami.architecture === 'arm64' ? 't4g.micro' : 't3.micro');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const idBase = `launch-${ami.region}-${ami.amiId}`;

  async function launch() {
    setBusy(true);
    setError(undefined);
    try {
      const input = { amiId: ami.amiId, instanceType: instanceType.trim(), ...(name.trim() ? { name: name.trim() } : {}) };
      const result = (await api.request(WebLaunchInstanceDocument, { input })).launchInstance;
      if (result.__typename === 'LaunchInstanceSuccess') {
        announce(`Launching ${result.instance.instanceId} from ${ami.name}`);
        props.onLaunched(result.instance);
        return;
      }
      const fields = result.__typename === 'ValidationError' ? result.fieldErrors.map((f) => f.message) : [];
      setError([result.__typename === 'ValidationError' ? '' : result.message, ...fields].filter(Boolean).join(' '));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <ConfirmDialog
      title={`Launch ${ami.name}`}
      confirmLabel={busy ? 'Launching…' : 'Launch'}
      tone="primary"
      busy={busy}
      onConfirm={() => void launch()}
      onCancel={props.onCancel}
    >
      <p>
        One instance from <code>{ami.amiId}</code> in {ami.region}, tagged as yours.
      </p>
      <div class="field">
        <label for={`${idBase}-type`}>Instance type</label>
        <input
          id={`${idBase}-type`}
          type="text"
          required
          value={instanceType}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? `${idBase}-error` : undefined}
          onInput={(e) => {
            // The refusal was about the value being replaced.
            setError(undefined);
            setInstanceType(e.currentTarget.value);
          }}
        />
      </div>
      <div class="field">
        <label for={`${idBase}-name`}>Name (optional)</label>
        <input id={`${idBase}-name`} type="text" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </div>
      {error && (
        <p role="alert" class="error" id={`${idBase}-error`}>
          {error}
        </p>
      )}
    </ConfirmDialog>
  );
}

/** "Launching i-…" until instance(id) says RUNNING, then "Running"; polling stops there. */
function LaunchStatus({ launched }: { launched: WebLaunchedInstanceFragment }) {
  const { api, announce } = useDashboard();
  const [instance, setInstance] = useState(launched);
  const [error, setError] = useState<string>();
  const running = instance.state === 'RUNNING';

  useEffect(() => {
    if (running) return;
    let stopped = false;
    const timer = setInterval(() => {
      api
        .request(WebInstanceDocument, { id: launched.instanceId, region: launched.region })
        .then(({ instance: now }) => {
          if (stopped) return;
          if (!now) setError(`${launched.instanceId} is gone`);
          else {
            setInstance(now);
            if (now.state === 'RUNNING') announce(`${launched.instanceId} is running`);
          }
        })
        .catch((err: unknown) => !stopped && setError((err as Error).message));
    }, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [launched.instanceId, running]);

  if (error) {
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  }
  return (
    <p role="status" class="launch-status" data-testid="launch-status" data-instance-id={instance.instanceId}>
      {running ? (
        <>
          Running: <code>{instance.instanceId}</code>
        </>
      ) : (
        <>
          Launching <code>{instance.instanceId}</code>…
        </>
      )}
    </p>
  );
}
