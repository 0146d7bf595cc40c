// Validation as the user types: POST /v1/flows/validate, debounced; a late answer to an older
// definition is dropped.
import { useEffect, useRef, useState } from "react";
import { api, call } from "../../api/client";
import { asBody, steps, type FlowDef } from "./definition";
import type { Problem } from "./problems";

export const VALIDATE_DELAY_MS = 350;

/** The server stops at a missing name; validate the rest under a stand-in and say so here. */
const STAND_IN_NAME = "unnamed-flow";
const NAME_MISSING: Problem = {
  pointer: "/definition/name",
  message: "the flow needs a name (Flow settings)",
};

export function useValidation(flow: FlowDef): {
  problems: Problem[];
  checking: boolean;
  error: unknown;
} {
  const [state, setState] = useState<{ problems: Problem[]; checking: boolean; error: unknown }>({
    problems: [],
    checking: false,
    error: undefined,
  });
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    if (steps(flow).length === 0) {
      setState({ problems: [], checking: false, error: undefined });
      return;
    }
    setState((old) => ({ ...old, checking: true }));
    const timer = setTimeout(() => {
      const unnamed = typeof flow.name !== "string" || flow.name.trim() === "";
      const definition = asBody(unnamed ? { ...flow, name: STAND_IN_NAME } : flow);
      call(api.POST("/v1/flows/validate", { body: { definition } })).then(
        (result) =>
          mine === generation.current &&
          setState({
            problems: unnamed ? [NAME_MISSING, ...result.problems] : result.problems,
            checking: false,
            error: undefined,
          }),
        (error: unknown) =>
          mine === generation.current && setState({ problems: [], checking: false, error }),
      );
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [flow]);
  return state;
}
