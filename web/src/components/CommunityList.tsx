// AMIs any user published to the community, searchable by name.
import { useState } from 'preact/hooks';
import { useDashboard } from '../context.js';
import { WebCommunityAmisDocument, type AmiFilter } from '../generated/graphql.js';
import { AmiCard } from './AmiCard.js';
import { usePagedAmis } from './paged.js';

export function CommunityList() {
  const { api } = useDashboard();
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<AmiFilter>({});
  const list = usePagedAmis((variables) => api.request(WebCommunityAmisDocument, variables).then((d) => d.communityAmis), filter);

  return (
    <section class="card community" aria-labelledby="community-title">
      <div class="section-head">
        <h2 id="community-title">Community</h2>
        {list.total !== undefined && <span class="meta">{list.total} published</span>}
      </div>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(search.trim() ? { nameContains: search.trim() } : {});
        }}
      >
        <div class="field">
          <label for="community-search">Name contains</label>
          <input id="community-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
        <div class="filter-actions">
          <button type="submit">Search</button>
        </div>
      </form>
      {list.error && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      {list.items?.length === 0 && <p class="empty">Nothing published yet.</p>}
      {list.items && list.items.length > 0 && (
        <ul class="ami-list" data-testid="community-amis">
          {list.items.map((ami) => (
            <AmiCard key={`${ami.region}/${ami.amiId}`} ami={ami} showPublisher />
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
