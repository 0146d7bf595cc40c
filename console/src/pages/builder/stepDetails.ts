// The catalogue's details of the step versions a flow uses (input and output schemas), loaded
// once per `name@version` and kept for the page's life.
import { useEffect, useState } from "react";
import { api, call, type Schemas } from "../../api/client";
import { splitRef } from "./definition";

export type StepDetail = Schemas["StepVersionDetail"];
export type Loaded = { detail?: StepDetail; error?: unknown };

const cache = new Map<string, Promise<StepDetail>>();

export function loadStepDetail(ref: string): Promise<StepDetail> {
  let pending = cache.get(ref);
  if (!pending) {
    const { name, version } = splitRef(ref);
    pending = call(
      api.GET("/v1/steps/{name}/versions/{version}", { params: { path: { name, version } } }),
    );
    pending.catch(() => cache.delete(ref));
    cache.set(ref, pending);
  }
  return pending;
}

/** `uses` -> its detail (or the error loading it), for every ref given. */
export function useStepDetails(refs: string[]): Map<string, Loaded> {
  const [loaded, setLoaded] = useState<Map<string, Loaded>>(new Map());
  const key = [...new Set(refs)].sort().join("\n");
  useEffect(() => {
    let live = true;
    for (const ref of key ? key.split("\n") : []) {
      if (!ref.includes("@")) continue;
      loadStepDetail(ref).then(
        (detail) => live && setLoaded((old) => new Map(old).set(ref, { detail })),
        (error: unknown) => live && setLoaded((old) => new Map(old).set(ref, { error })),
      );
    }
    return () => {
      live = false;
    };
  }, [key]);
  return loaded;
}
