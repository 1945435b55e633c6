/** Asked for when the NATS server wants credentials: a shared token, a user, or a credentials file. */
import { useState } from 'preact/hooks';
import type { Login } from './connection.js';

export function LoginForm({ reason, onLogin }: { reason: string | undefined; onLogin: (l: Login) => void }) {
  const [kind, setKind] = useState<'token' | 'user' | 'creds'>('token');
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const submit = (e: Event): void => {
    e.preventDefault();
    onLogin(
      kind === 'token'
        ? { kind, token: a }
        : kind === 'user'
          ? { kind, user: a, pass: b }
          : { kind, creds: a },
    );
  };
  return (
    <form class="login card" onSubmit={submit} data-testid="login">
      <h2>Log in to NATS</h2>
      <p class="muted">
        The NATS server asks for credentials. They go to the server only, and are kept for this tab.
      </p>
      {reason && <p class="error">{reason}</p>}
      <div class="tabs">
        {(['token', 'user', 'creds'] as const).map((k) => (
          <button type="button" class={kind === k ? 'on' : ''} onClick={() => setKind(k)}>
            {k === 'token' ? 'Token' : k === 'user' ? 'User and password' : 'Credentials file'}
          </button>
        ))}
      </div>
      {kind === 'token' && (
        <input type="password" placeholder="token" value={a} onInput={(e) => setA(e.currentTarget.value)} />
      )}
      {kind === 'user' && (
        <>
          <input placeholder="user" value={a} onInput={(e) => setA(e.currentTarget.value)} />
          <input
            type="password"
            placeholder="password"
            value={b}
            onInput={(e) => setB(e.currentTarget.value)}
          />
        </>
      )}
      {kind === 'creds' && (
        <textarea
          rows={8}
          placeholder="-----BEGIN NATS USER JWT----- … (contents of the .creds file)"
          value={a}
          onInput={(e) => setA(e.currentTarget.value)}
        />
      )}
      <button type="submit">Connect</button>
    </form>
  );
}
