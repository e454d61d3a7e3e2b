import { type FormEvent, useState } from 'react';
import { ApiClient, describeError } from '../api/client.ts';
import { apiBase, useSession } from './session.ts';

export function SignIn() {
  const signIn = useSession((s) => s.signIn);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const api = new ApiClient(apiBase(), token.trim());
      const me = await api.me();
      signIn(token.trim(), me);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>CodexOS</h1>
        <p>Sign in with an API token. <code>codexos serve</code> prints the first admin token on its first start; create more with <code>codexos token create</code>.</p>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" autoFocus value={token} onChange={(e) => setToken(e.target.value)} required />
        </label>
        {error && <div role="alert" className="error">{error}</div>}
        <button type="submit" disabled={busy || !token.trim()}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
