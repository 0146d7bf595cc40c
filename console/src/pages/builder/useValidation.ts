// Validation as the user types: POST /v1/flows/validate, debounced; a late answer to an older
// definition is dropped.
import { useEffect, useRef, useState } from "react";
import { api, call } from "../../api/client";
import { asBody, steps, type FlowDef } from "./definition";
import type { Problem } from "./problems";

export const VALIDATE_DELAY_MS = 350;

export function useValidation(flow: FlowDef): { problems: Problem[]; checking: boolean; error: unknown } {
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
      call(api.POST("/v1/flows/validate", { body: { definition: asBody(flow) } })).then(
        (result) => mine === generation.current && setState({ problems: result.problems, checking: false, error: undefined }),
        (error: unknown) => mine === generation.current && setState({ problems: [], checking: false, error }),
      );
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [flow]);
  return state;
}
