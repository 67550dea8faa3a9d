// The viewer's AMIs (one entry per region), filtered by tag, region and template, with the
// actions: publish / unpublish, share with accounts (or revoke), protect / unprotect, deregister after
// confirmation. The amiChanges subscription reloads it whenever one of the viewer's AMIs becomes
// available, is published, shared or deregistered, wherever that happened (the CLI, another tab).
import { useEffect, useRef, useState } from 'preact/hooks';
import { useDashboard } from '../context.js';
import {
  WebAmiChangesDocument,
  WebDeregisterAmiDocument,
  WebProtectAmiDocument,
  WebPublishAmiDocument,
  WebShareAmiDocument,
  WebUserAmisDocument,
  type AmiFilter,
  type WebAmiFragment,
} from '../generated/graphql.js';
import { parseTags, words } from '../format.js';
import { AmiCard } from './AmiCard.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { usePagedAmis } from './paged.js';

const NO_FILTER = { tags: '', region: '', templateName: '' };

type Draft = typeof NO_FILTER;

export function AmiList() {
  const { api } = useDashboard();
  const filtering = useFilter();
  const { filter } = filtering;
  const list = usePagedAmis((variables) => api.request(WebUserAmisDocument, variables).then((d) => d.userAmis), filter);
  useAmiChanges();

  return (
    <section class="card amis" aria-labelledby="amis-title">
      <div class="section-head">
        <h2 id="amis-title">Your AMIs</h2>
        {list.total !== undefined && <span class="meta">{list.total} in all</span>}
      </div>
      <FilterForm {...filtering} />
      {list.error && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      {list.items?.length === 0 && (
        <p class="empty">{Object.keys(filter).length ? 'No AMI matches these filters.' : 'No AMIs yet.'}</p>
      )}
      {list.items && list.items.length > 0 && (
        <ul class="ami-list" data-testid="user-amis">
          {list.items.map((ami) => (
            <AmiCard key={`${ami.region}/${ami.amiId}`} ami={ami}>
              <AmiActions ami={ami} />
            </AmiCard>
          ))}
        </ul>
      )}
      {list.hasMore && (
        <button type="button" class="secondary" onClick={list.more}>
          Show more
        </button>
      )}
    </section>
  );
}

/**
 * Reloads the AMI lists (the page shown, with its filter) on every change amiChanges reports: a
 * refetch rather than a merge, since the change may move the AMI into or out of the filter.
 */
function useAmiChanges(): void {
  const { api, amisChanged } = useDashboard();
  // amisChanged is a new function after every reload: the subscription stays, the ref follows it.
  const changed = useRef(amisChanged);
  changed.current = amisChanged;
  useEffect(
    () =>
      api.subscribe(
        WebAmiChangesDocument,
        {},
        // A stream that stops leaves the list as it is; actions and creations still reload it.
        { next: () => changed.current(), error: () => undefined, complete: () => undefined },
      ),
    [api],
  );
}

/** The filter being typed (draft) and the one applied; the list reloads only when it is applied. */
function useFilter() {
  const [draft, setDraft] = useState(NO_FILTER);
  const [filter, setFilter] = useState<AmiFilter>({});
  const [filterError, setFilterError] = useState<string>();

  function apply(e: Event) {
    e.preventDefault();
    const next = toFilter(draft);
    if (!next) {
      setFilterError('Write tags as key=value, separated by commas');
      return;
    }
    setFilterError(undefined);
    setFilter(next);
  }

  function clear() {
    setDraft(NO_FILTER);
    setFilterError(undefined);
    setFilter({});
  }

  return { draft, setDraft, filter, filterError, apply, clear };
}

/** The filter the server takes, without the fields left empty; undefined when the tags do not parse. */
function toFilter(draft: Draft): AmiFilter | undefined {
  const tags = parseTags(draft.tags);
  if (!tags) return undefined;
  return {
    ...(tags.length ? { tags } : {}),
    ...(draft.region.trim() ? { region: draft.region.trim() } : {}),
    ...(draft.templateName.trim() ? { templateName: draft.templateName.trim() } : {}),
  };
}

function FilterForm(props: {
  draft: Draft;
  setDraft: (draft: Draft) => void;
  filterError: string | undefined;
  apply: (e: Event) => void;
  clear: () => void;
}) {
  const { draft, setDraft, filterError } = props;
  return (
    <form class="filters" onSubmit={props.apply} aria-label="Filter your AMIs">
      <div class="field">
        <label for="filter-tags">Tag</label>
        <input
          id="filter-tags"
          type="text"
          placeholder="team=bio"
          value={draft.tags}
          aria-invalid={filterError ? 'true' : undefined}
          aria-describedby={filterError ? 'filter-tags-error' : undefined}
          onInput={(e) => setDraft({ ...draft, tags: e.currentTarget.value })}
        />
        {filterError && (
          <p class="field-error" id="filter-tags-error">
            {filterError}
          </p>
        )}
      </div>
      <div class="field">
        <label for="filter-region">Region</label>
        <input
          id="filter-region"
          type="text"
          placeholder="us-east-1"
          value={draft.region}
          onInput={(e) => setDraft({ ...draft, region: e.currentTarget.value })}
        />
      </div>
      <div class="field">
        <label for="filter-template">Template</label>
        <input
          id="filter-template"
          type="text"
          value={draft.templateName}
          onInput={(e) => setDraft({ ...draft, templateName: e.currentTarget.value })}
        />
      </div>
      <div class="filter-actions">
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick={props.clear}>
          Clear
        </button>
      </div>
    </form>
  );
}

type MutationResult = { __typename: string; message?: string; fieldErrors?: { message: string }[] };

/** Runs one AMI mutation at a time; its union's error members are shown in the card. */
function useAmiMutation() {
  const { announce, amisChanged } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  /** Resolves to whether the mutation succeeded. */
  async function run(action: () => Promise<MutationResult>, done: string): Promise<boolean> {
    setBusy(true);
    setError(undefined);
    try {
      const result = await action();
      if (result.__typename.endsWith('Success')) {
        announce(done);
        amisChanged();
        return true;
      }
      setError([result.message, ...(result.fieldErrors ?? []).map((f) => f.message)].filter(Boolean).join(' '));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
    return false;
  }

  return { busy, error, run };
}

/** The card's actions and the state of their forms: the share panel and the deregister dialog. */
function useAmiActions(ami: WebAmiFragment) {
  const { api } = useDashboard();
  const { busy, error, run } = useAmiMutation();
  const [sharing, setSharing] = useState(false);
  const [accounts, setAccounts] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [deleteSnapshots, setDeleteSnapshots] = useState(true);
  const published = ami.visibility === 'PUBLIC';

  const publish = () =>
    run(
      () => api.request(WebPublishAmiDocument, { input: { amiId: ami.amiId, public: !published } }).then((d) => d.publishAmi),
      published ? `${ami.name} is private again` : `${ami.name} is published to the community`,
    );

  const share = async (revoke: boolean) => {
    const ok = await run(
      () =>
        api
          .request(WebShareAmiDocument, { input: { amiId: ami.amiId, accountIds: words(accounts), revoke } })
          .then((d) => d.shareAmi),
      revoke ? `Access revoked on ${ami.name}` : `${ami.name} is shared`,
    );
    if (ok) {
      setAccounts('');
      setSharing(false);
    }
  };

  const protect = () =>
    run(
      () =>
        api
          .request(WebProtectAmiDocument, { input: { amiId: ami.amiId, enabled: !ami.deregistrationProtection } })
          .then((d) => d.protectAmi),
      ami.deregistrationProtection ? `${ami.name} can be deregistered again` : `${ami.name} is protected from deregistration`,
    );

  const deregister = async () => {
    setConfirming(false);
    await run(
      () => api.request(WebDeregisterAmiDocument, { input: { amiId: ami.amiId, deleteSnapshots } }).then((d) => d.deregisterAmi),
      `${ami.name} (${ami.amiId}) is deregistered`,
    );
  };

  return {
    busy,
    error,
    publish,
    share,
    protect,
    deregister,
    sharing,
    setSharing,
    accounts,
    setAccounts,
    confirming,
    setConfirming,
    deleteSnapshots,
    setDeleteSnapshots,
  };
}

function AmiActions({ ami }: { ami: WebAmiFragment }) {
  const actions = useAmiActions(ami);
  const {
    busy,
    error,
    sharing,
    setSharing,
    accounts,
    setAccounts,
    confirming,
    setConfirming,
    deleteSnapshots,
    setDeleteSnapshots,
  } = actions;
  if (ami.state === 'DEREGISTERED') return null;
  const published = ami.visibility === 'PUBLIC';
  const idBase = `${ami.region}-${ami.amiId}`;

  return (
    <div class="ami-actions">
      <div class="actions">
        <button
          type="button"
          class="secondary small"
          disabled={busy || ami.state !== 'AVAILABLE'}
          onClick={() => void actions.publish()}
        >
          {published ? 'Unpublish' : 'Publish'}
        </button>
        <button
          type="button"
          class="secondary small"
          aria-expanded={sharing}
          aria-controls={`share-${idBase}`}
          onClick={() => setSharing(!sharing)}
        >
          Share…
        </button>
        <button
          type="button"
          class="secondary small"
          disabled={busy || ami.state !== 'AVAILABLE'}
          onClick={() => void actions.protect()}
        >
          {ami.deregistrationProtection ? 'Unprotect' : 'Protect'}
        </button>
        <button type="button" class="danger small" disabled={busy} onClick={() => setConfirming(true)}>
          Deregister…
        </button>
      </div>
      {sharing && (
        <ShareForm
          idBase={idBase}
          accounts={accounts}
          setAccounts={setAccounts}
          busy={busy}
          share={(revoke) => void actions.share(revoke)}
        />
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {confirming && (
        <DeregisterDialog
          ami={ami}
          idBase={idBase}
          deleteSnapshots={deleteSnapshots}
          setDeleteSnapshots={setDeleteSnapshots}
          onConfirm={() => void actions.deregister()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </div>
  );
}

function DeregisterDialog(props: {
  ami: WebAmiFragment;
  idBase: string;
  deleteSnapshots: boolean;
  setDeleteSnapshots: (deleteSnapshots: boolean) => void;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { ami, idBase } = props;
  return (
    <ConfirmDialog
      title={`Deregister ${ami.name}?`}
      confirmLabel="Deregister"
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    >
      <p>
        <code>{ami.amiId}</code> in {ami.region} can no longer be launched. Running instances are not affected.
      </p>
      <div class="field check">
        <input
          id={`snapshots-${idBase}`}
          type="checkbox"
          checked={props.deleteSnapshots}
          onChange={(e) => props.setDeleteSnapshots(e.currentTarget.checked)}
        />
        <label for={`snapshots-${idBase}`}>Also delete its snapshots (stops their storage cost)</label>
      </div>
    </ConfirmDialog>
  );
}

function ShareForm(props: {
  idBase: string;
  accounts: string;
  setAccounts: (accounts: string) => void;
  busy: boolean;
  share: (revoke: boolean) => void;
}) {
  const { idBase, accounts, busy } = props;
  return (
    <form
      class="share"
      id={`share-${idBase}`}
      onSubmit={(e) => {
        e.preventDefault();
        props.share(false);
      }}
    >
      <label for={`accounts-${idBase}`}>AWS account ids</label>
      <input
        id={`accounts-${idBase}`}
        type="text"
        inputMode="numeric"
        placeholder="123456789012"
        value={accounts}
        onInput={(e) => props.setAccounts(e.currentTarget.value)}
      />
      <div class="actions">
        <button type="submit" class="small" disabled={busy || !accounts.trim()}>
          Grant access
        </button>
        <button type="button" class="secondary small" disabled={busy || !accounts.trim()} onClick={() => props.share(true)}>
          Revoke access
        </button>
      </div>
    </form>
  );
}
