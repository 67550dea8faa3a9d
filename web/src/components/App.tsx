// The page: the sign-in form until a token works, then the dashboard (header, create form,
// creations with live progress, the viewer's AMIs, the community list).
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, type Api, type Transport } from '../api.js';
import { Dashboard, type DashboardContext } from '../context.js';
import { WebSessionDocument, type WebCreationFragment, type WebSessionQuery } from '../generated/graphql.js';
import { forgetToken, initialToken, preferredTransport, saveToken } from '../session.js';
import { AmiList } from './AmiList.js';
import { CommunityList } from './CommunityList.js';
import { CreateForm } from './CreateForm.js';
import { Creations } from './Creations.js';
import { SignIn } from './SignIn.js';

export function App() {
  const [token, setToken] = useState(initialToken);
  const [notice, setNotice] = useState<string>();

  const signOut = useCallback((reason?: string) => {
    forgetToken();
    setToken(undefined);
    setNotice(reason);
  }, []);

  if (!token) {
    return (
      <SignIn
        notice={notice}
        onToken={(t) => {
          saveToken(t);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  return <SignedIn key={token} token={token} onSignOut={signOut} />;
}

function SignedIn({ token, onSignOut }: { token: string; onSignOut: (reason?: string) => void }) {
  const { api, transport } = useApi(token, onSignOut);
  const { session, sessionError } = useSession(api);
  const [announcement, setAnnouncement] = useState('');
  const [amisVersion, setAmisVersion] = useState(0);
  const [latest, setLatest] = useState<WebCreationFragment>();
  const context = useMemo<DashboardContext | null>(
    () =>
      session
        ? {
            api,
            user: session.viewer.user,
            announce: setAnnouncement,
            amisVersion,
            amisChanged: () => setAmisVersion((v) => v + 1),
          }
        : null,
    [api, session, amisVersion],
  );

  if (!context || !session) return <Connecting error={sessionError} />;
  return (
    <Dashboard.Provider value={context}>
      <TopBar session={session} onSignOut={onSignOut} />
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      <main class="page">
        <div class="columns">
          <CreateForm onCreated={setLatest} />
          <Creations latest={latest} transport={transport} />
        </div>
        <AmiList />
        <CommunityList />
      </main>
    </Dashboard.Provider>
  );
}

/** One API client per token, disposed with it; `transport` follows its fallback to SSE. */
function useApi(token: string, onSignOut: (reason?: string) => void) {
  const [transport, setTransport] = useState<Transport>(preferredTransport);
  const api = useMemo(
    () =>
      createApi({
        token,
        transport: preferredTransport(),
        onUnauthenticated: () => onSignOut('The server did not accept the token (unknown or revoked). Sign in again.'),
        onTransportChange: setTransport,
      }),
    [token, onSignOut],
  );
  useEffect(() => () => api.dispose(), [api]);
  return { api, transport };
}

/** The viewer and the server's description, asked once: the first request that proves the token works. */
function useSession(api: Api) {
  const [session, setSession] = useState<WebSessionQuery>();
  const [sessionError, setSessionError] = useState<string>();
  useEffect(() => {
    api.request(WebSessionDocument).then(setSession, (err: Error) => setSessionError(err.message));
  }, [api]);
  return { session, sessionError };
}

function Connecting({ error }: { error: string | undefined }) {
  return (
    <main class="page loading">
      <h1>prism-ami</h1>
      {error ? (
        <p role="alert" class="error">
          {error}{' '}
          <button type="button" onClick={() => location.reload()}>
            Retry
          </button>
        </p>
      ) : (
        <p role="status">Connecting…</p>
      )}
    </main>
  );
}

function TopBar({ session, onSignOut }: { session: WebSessionQuery; onSignOut: () => void }) {
  const info = session.serverInfo;
  return (
    <header class="top">
      <div class="brand">
        <h1>prism-ami</h1>
        <span class="meta">
          v{info.version} · {info.ec2Backend === 'SIMULATOR' ? 'built-in EC2 simulator' : 'AWS'} · {info.sourceRegion}
        </span>
      </div>
      <nav class="account" aria-label="Account">
        <span>
          Signed in as <strong data-testid="viewer">{session.viewer.user}</strong>
        </span>
        <a href="/graphql">GraphiQL</a>
        <button type="button" class="secondary" onClick={() => onSignOut()}>
          Sign out
        </button>
      </nav>
    </header>
  );
}
