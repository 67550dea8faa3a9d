// Where the dashboard's token lives: taken once from the sign-in link (/?token=…, as Jupyter
// prints it), kept in sessionStorage (this tab only, gone when it closes) and removed from the
// address bar so it does not end up in history, bookmarks or screenshots.

const KEY = 'prism-ami.token';

/** Reads `?token=` (and drops it from the address bar), else the token kept for this tab. */
export function initialToken(): string | undefined {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token')?.trim();
  if (url.searchParams.has('token')) {
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }
  if (fromUrl) {
    saveToken(fromUrl);
    return fromUrl;
  }
  return readStorage();
}

export function saveToken(token: string): void {
  try {
    window.sessionStorage.setItem(KEY, token);
  } catch {
    // Storage disabled (private mode, policy): the token lives in memory for this page only.
  }
}

export function forgetToken(): void {
  try {
    window.sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

function readStorage(): string | undefined {
  try {
    return window.sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** `?transport=sse` forces Server-Sent Events (for networks that block WebSockets, and tests). */
export function preferredTransport(): 'websocket' | 'sse' {
  return new URL(window.location.href).searchParams.get('transport') === 'sse' ? 'sse' : 'websocket';
}
