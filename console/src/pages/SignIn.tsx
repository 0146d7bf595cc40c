import { useState, type FormEvent, type ReactNode } from "react";

/** The sign-in form: an API key (as printed by `stepwell up` or made with `POST /v1/keys`). */
export function SignIn({
  onSignIn,
  children,
}: {
  onSignIn: (key: string) => void;
  children?: ReactNode;
}) {
  const [key, setKey] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onSignIn(key.trim());
  };
  return (
    <main className="sign-in">
      <h1>Stepwell</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          required
          autoFocus
        />
        <button type="submit">Sign in</button>
        <p className="hint">
          `stepwell up` prints a key for the default workspace. The key is kept for this tab only.
        </p>
      </form>
      {children}
    </main>
  );
}
