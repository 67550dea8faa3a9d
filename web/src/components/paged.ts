// A page-by-page AMI list that reloads when its filter or the dashboard's AMI counter changes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useDashboard } from '../context.js';
import type { AmiFilter, WebAmiFragment } from '../generated/graphql.js';

const PAGE = 25;
const MAX_PAGE = 100;

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: WebAmiFragment }[];
}

type Fetch = (variables: { first: number; after?: string; filter: AmiFilter }) => Promise<Page>;

export function usePagedAmis(fetchPage: Fetch, filter: AmiFilter) {
  const { amisVersion } = useDashboard();
  const [items, setItems] = useState<WebAmiFragment[]>();
  const [total, setTotal] = useState<number>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<string>();
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  // How many rows "Show more" has revealed, so a reload after a change keeps them.
  const shown = useRef(PAGE);
  const lastFilter = useRef(filter);

  useEffect(() => {
    if (lastFilter.current !== filter) shown.current = PAGE;
    lastFilter.current = filter;
    let current = true;
    fetchRef.current({ first: Math.min(MAX_PAGE, shown.current), filter }).then(
      (page) => {
        if (!current) return;
        setItems(page.edges.map((e) => e.node));
        setTotal(page.totalCount);
        setCursor(page.pageInfo.endCursor);
        setHasMore(page.pageInfo.hasNextPage);
        setError(undefined);
      },
      (err: Error) => current && setError(err.message),
    );
    return () => {
      current = false;
    };
  }, [filter, amisVersion]);

  return {
    items,
    total,
    hasMore,
    error,
    more: () => {
      if (!cursor) return;
      fetchRef.current({ first: PAGE, after: cursor, filter }).then(
        (page) => {
          setItems((list) => {
            const next = [...(list ?? []), ...page.edges.map((e) => e.node)];
            shown.current = next.length;
            return next;
          });
          setCursor(page.pageInfo.endCursor);
          setHasMore(page.pageInfo.hasNextPage);
        },
        (err: Error) => setError(err.message),
      );
    },
  };
}
