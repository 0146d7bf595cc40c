import { useCallback, useEffect, useState } from "react";
import { Router } from "wouter";
import { api, call, type Schemas } from "./api/client";
import { ErrorBanner } from "./components/ErrorBanner";
import { useHashLocation, useHashSearch } from "./hashLocation";
import { Layout } from "./Layout";
import { Routes } from "./routes";
import { KeyRefused } from "./components/KeyRefused";
import { dropAllDrafts } from "./pages/builder/draft";
import { currentKey, forgetKey, onKeyRefused, rememberKey } from "./session";
import { SignIn } from "./pages/SignIn";
import { WorkspaceContext } from "./workspace";

type State =
  | { phase: "checking" }
  | { phase: "signed-out"; error?: unknown; again?: boolean }
  | { phase: "signed-in"; workspace: Schemas["WorkspaceOut"] };

/** Signs in with an API key (checked against GET /v1/workspace), then shows the console. */
export function App() {
  const [state, setState] = useState<State>(() =>
    currentKey() ? { phase: "checking" } : { phase: "signed-out" },
  );

  // Any 401 from the API once signed in: the key was revoked meanwhile (or its workspace went).
  const [refused, setRefused] = useState(false);
  useEffect(() => onKeyRefused(() => setRefused(true)), []);

  const check = useCallback(async () => {
    try {
      const workspace = await call(api.GET("/v1/workspace"));
      setState({ phase: "signed-in", workspace });
    } catch (error) {
      forgetKey();
      setState({ phase: "signed-out", error });
    }
  }, []);

  useEffect(() => {
    if (state.phase === "checking") void check();
  }, [state.phase, check]);

  const signIn = (key: string) => {
    rememberKey(key);
    setRefused(false);
    setState({ phase: "checking" });
  };
  const signOut = () => {
    forgetKey();
    dropAllDrafts();
    setState({ phase: "signed-out" });
  };
  // The hash route stays: signed in again, the console opens where the user was.
  const signInAgain = () => {
    forgetKey();
    setState({ phase: "signed-out", again: true });
  };

  if (state.phase === "checking") return <p className="loading">Signing in…</p>;
  if (state.phase === "signed-out") {
    return (
      <SignIn onSignIn={signIn}>
        {state.again && (
          <p className="notice" role="status">
            The API refused your key. Sign in with a valid key to go back to the page you were on.
          </p>
        )}
        <ErrorBanner error={state.error} title="Sign-in failed" />
      </SignIn>
    );
  }
  return (
    <WorkspaceContext.Provider value={{ workspace: state.workspace, signOut }}>
      <Router hook={useHashLocation} searchHook={useHashSearch}>
        <Layout alert={refused && <KeyRefused onSignInAgain={signInAgain} />}>
          <Routes />
        </Layout>
      </Router>
    </WorkspaceContext.Provider>
  );
}
