import { useCallback, useEffect, useState } from "react";
import { Router } from "wouter";
import { api, call, type Schemas } from "./api/client";
import { ErrorBanner } from "./components/ErrorBanner";
import { useHashLocation, useHashSearch } from "./hashLocation";
import { Layout } from "./Layout";
import { Routes } from "./routes";
import { currentKey, forgetKey, rememberKey } from "./session";
import { SignIn } from "./pages/SignIn";
import { WorkspaceContext } from "./workspace";

type State =
  | { phase: "checking" }
  | { phase: "signed-out"; error?: unknown }
  | { phase: "signed-in"; workspace: Schemas["WorkspaceOut"] };

/** Signs in with an API key (checked against GET /v1/workspace), then shows the console. */
export function App() {
  const [state, setState] = useState<State>(() =>
    currentKey() ? { phase: "checking" } : { phase: "signed-out" },
  );

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
    setState({ phase: "checking" });
  };
  const signOut = () => {
    forgetKey();
    setState({ phase: "signed-out" });
  };

  if (state.phase === "checking") return <p className="loading">Signing in…</p>;
  if (state.phase === "signed-out") {
    return (
      <SignIn onSignIn={signIn}>
        <ErrorBanner error={state.error} title="Sign-in failed" />
      </SignIn>
    );
  }
  return (
    <WorkspaceContext.Provider value={{ workspace: state.workspace, signOut }}>
      <Router hook={useHashLocation} searchHook={useHashSearch}>
        <Layout>
          <Routes />
        </Layout>
      </Router>
    </WorkspaceContext.Provider>
  );
}
