// The signed-in API key, kept for this browser tab's session only (sessionStorage): closing the
// tab forgets it, and it is never written into a URL, a cookie or a log.
const STORAGE_KEY = "stepwell.api-key";

export function currentKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function rememberKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

// Told when the API answers 401 to any request (api/client.ts), so the console can offer to
// sign in again wherever the user is.
const refusedListeners = new Set<() => void>();

export function onKeyRefused(listener: () => void): () => void {
  refusedListeners.add(listener);
  return () => refusedListeners.delete(listener);
}

export function keyRefused(): void {
  refusedListeners.forEach((listener) => listener());
}
