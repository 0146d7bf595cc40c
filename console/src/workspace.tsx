import { createContext, useContext } from "react";
import type { Schemas } from "./api/client";

/** The signed-in workspace and a way to sign out; provided by App once the key is accepted. */
export interface SignedIn {
  workspace: Schemas["WorkspaceOut"];
  signOut: () => void;
}

export const WorkspaceContext = createContext<SignedIn | null>(null);

export function useWorkspace(): SignedIn {
  const value = useContext(WorkspaceContext);
  if (!value) throw new Error("useWorkspace outside a signed-in console");
  return value;
}
