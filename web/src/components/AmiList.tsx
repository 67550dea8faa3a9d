// The viewer's AMIs (one entry per region), filtered by tag, region and template, with the
// actions: publish / unpublish, share with accounts (or revoke), deregister after confirmation.
import { useState } from 'preact/hooks';
import { useDashboard } from '../context.js';
import {
  WebDeregisterAmiDocument,
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

export function AmiList() {
  const { api } = useDashboard();
  const [draft, setDraft] = useState(NO_FILTER);
  const [filter, setFilter] = useState<AmiFilter>({});
  const [filterError, setFilterError] = useState<string>();
  const list = usePagedAmis((variables) => api.request(WebUserAmisDocument, variables).then((d) => d.userAmis), filter);

  function apply(e: Event) {
    e.preventDefault();
    const tags = parseTags(draft.tags);
    if (!tags) {
      setFilterError('Write tags as key=value, separated by commas');
      return;
    }
    setFilterError(undefined);
    setFilter({
      ...(tags.length ? { tags } : {}),
      ...(draft.region.trim() ? { region: draft.region.trim() } : {}),
      ...(draft.templateName.trim() ? { templateName: draft.templateName.trim() } : {}),
    });
  }

  return (
    <section class="card amis" aria-labelledby="amis-title">
      <div class="section-head">
        <h2 id="amis-title">Your AMIs</h2>
        {list.total !== undefined && <span class="meta">{list.total} in all</span>}
      </div>
      <form class="filters" onSubmit={apply} aria-label="Filter your AMIs">
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
          <input id="filter-region" type="text" placeholder="us-east-1" value={draft.region} onInput={(e) => setDraft({ ...draft, region: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="filter-template">Template</label>
          <input id="filter-template" type="text" value={draft.templateName} onInput={(e) => setDraft({ ...draft, templateName: e.currentTarget.value })} />
        </div>
        <div class="filter-actions">
          <button type="submit">Filter</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_FILTER);
              setFilterError(undefined);
              setFilter({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
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

function AmiActions({ ami }: { ami: WebAmiFragment }) {
  const { api, announce, amisChanged } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [sharing, setSharing] = useState(false);
  const [accounts, setAccounts] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [deleteSnapshots, setDeleteSnapshots] = useState(true);
  if (ami.state === 'DEREGISTERED') return null;
  const published = ami.visibility === 'PUBLIC';
  const idBase = `${ami.region}-${ami.amiId}`;

  /** Runs a mutation; its union's error members are shown in the card. */
  async function run(action: () => Promise<{ __typename: string; message?: string; fieldErrors?: { message: string }[] }>, done: string) {
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

  const publish = () =>
    run(
      () => api.request(WebPublishAmiDocument, { input: { amiId: ami.amiId, public: !published } }).then((d) => d.publishAmi),
      published ? `${ami.name} is private again` : `${ami.name} is published to the community`,
    );

  const share = async (revoke: boolean) => {
    const ok = await run(
      () => api.request(WebShareAmiDocument, { input: { amiId: ami.amiId, accountIds: words(accounts), revoke } }).then((d) => d.shareAmi),
      revoke ? `Access revoked on ${ami.name}` : `${ami.name} is shared`,
    );
    if (ok) {
      setAccounts('');
      setSharing(false);
    }
  };

  const deregister = async () => {
    setConfirming(false);
    await run(
      () => api.request(WebDeregisterAmiDocument, { input: { amiId: ami.amiId, deleteSnapshots } }).then((d) => d.deregisterAmi),
      `${ami.name} (${ami.amiId}) is deregistered`,
    );
  };

  return (
    <div class="ami-actions">
      <div class="actions">
        <button type="button" class="secondary small" disabled={busy || ami.state !== 'AVAILABLE'} onClick={() => void publish()}>
          {published ? 'Unpublish' : 'Publish'}
        </button>
        <button type="button" class="secondary small" aria-expanded={sharing} aria-controls={`share-${idBase}`} onClick={() => setSharing(!sharing)}>
          Share…
        </button>
        <button type="button" class="danger small" disabled={busy} onClick={() => setConfirming(true)}>
          Deregister…
        </button>
      </div>
      {sharing && (
        <form
          class="share"
          id={`share-${idBase}`}
          onSubmit={(e) => {
            e.preventDefault();
            void share(false);
          }}
        >
          <label for={`accounts-${idBase}`}>AWS account ids</label>
          <input id={`accounts-${idBase}`} type="text" inputMode="numeric" placeholder="123456789012" value={accounts} onInput={(e) => setAccounts(e.currentTarget.value)} />
          <div class="actions">
            <button type="submit" class="small" disabled={busy || !accounts.trim()}>
              Grant access
            </button>
            <button type="button" class="secondary small" disabled={busy || !accounts.trim()} onClick={() => void share(true)}>
              Revoke access
            </button>
          </div>
        </form>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {confirming && (
        <ConfirmDialog title={`Deregister ${ami.name}?`} confirmLabel="Deregister" onConfirm={() => void deregister()} onCancel={() => setConfirming(false)}>
          <p>
            <code>{ami.amiId}</code> in {ami.region} can no longer be launched. Running instances are not affected.
          </p>
          <div class="field check">
            <input id={`snapshots-${idBase}`} type="checkbox" checked={deleteSnapshots} onChange={(e) => setDeleteSnapshots(e.currentTarget.checked)} />
            <label for={`snapshots-${idBase}`}>Also delete its snapshots (stops their storage cost)</label>
          </div>
        </ConfirmDialog>
      )}
    </div>
  );
}
