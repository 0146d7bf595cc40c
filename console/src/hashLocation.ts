// Hash routing with the query inside the hash: `/#/runs?flow=flw_1&status=failed`. wouter's own
// hash hook matches routes against the whole hash (query included) and navigates a query into
// the page URL's real query (before the `#`); this one splits the hash into a path, which routes
// match, and a search, which `useSearch`/`useSearchParams` read, and keeps both in the hash, so
// a page's filters survive a reload and can be linked.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());

function subscribe(listener: () => void): () => void {
  if (listeners.size === 0) addEventListener("hashchange", notify);
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) removeEventListener("hashchange", notify);
  };
}

const PREFIX = /^#?\/?/;

/** The hash as `[path, search]`: `#/runs?flow=x` is `["/runs", "flow=x"]`. */
export function hashParts(hash: string = location.hash): [string, string] {
  const raw = hash.replace(PREFIX, "");
  const at = raw.indexOf("?");
  return at < 0 ? [`/${raw}`, ""] : [`/${raw.slice(0, at)}`, raw.slice(at + 1)];
}

const currentPath = () => hashParts()[0];
const currentSearch = () => hashParts()[1];

/** Goes to `to` (`/runs?status=failed`), path and query both in the hash. */
export function navigate(
  to: string,
  { replace = false, state = null }: { replace?: boolean; state?: unknown } = {},
): void {
  const oldURL = location.href;
  const url = new URL(oldURL);
  url.hash = `/${to.replace(PREFIX, "")}`;
  if (url.href === oldURL) return;
  history[replace ? "replaceState" : "pushState"](state, "", url.href);
  dispatchEvent(new HashChangeEvent("hashchange", { oldURL, newURL: url.href }));
}

/** wouter's location hook: the hash's path and {@link navigate}. */
export function useHashLocation(): [string, typeof navigate] {
  return [useSyncExternalStore(subscribe, currentPath), navigate];
}
useHashLocation.hrefs = (href: string) => `#${href}`;

/** wouter's search hook: the hash's query (without `?`). */
export function useHashSearch(): string {
  return useSyncExternalStore(subscribe, currentSearch);
}
