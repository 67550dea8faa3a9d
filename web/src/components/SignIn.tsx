// Sign-in: the start-up log's link (/?token=…) signs in directly; otherwise paste a token.
import { useState } from 'preact/hooks';

export function SignIn({ notice, onToken }: { notice: string | undefined; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="page signin">
      <h1>prism-ami</h1>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value.trim());
        }}
      >
        <h2>Sign in</h2>
        {notice && (
          <p role="alert" class="error">
            {notice}
          </p>
        )}
        <p>
          Open the link the server printed when it started (<code>http://…/?token=…</code>), or paste a token. Create one with{' '}
          <code>prism-ami token create --user NAME</code>.
        </p>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <p class="hint">Kept in this browser tab only (sessionStorage) until you sign out or close it.</p>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
