// A run artifact's bytes, fetched with the signed-in key. The key is sent in the Authorization
// header only, so neither an <img src> nor a plain link could load an artifact: the console
// fetches the bytes and hands them to the page as a blob: URL of its own origin.
import { api, call, type Schemas } from "./client";

export type Artifact = Schemas["ArtifactInfo"];

/** The raster types shown inline. Never SVG or HTML: those can carry script (and an SVG
 * thumbnail gains nothing over a download). */
export const IMAGE_TYPES: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
]);

/** Images above this size are not fetched for a thumbnail (10 MB is the default per-file cap;
 * a page of them would hold a lot of memory). Downloading them still works. */
export const THUMBNAIL_MAX_BYTES = 5 * 1024 * 1024;

/** Whether the console shows `artifact` inline: a raster type and not too large. */
export function isThumbnail(artifact: Artifact): boolean {
  return IMAGE_TYPES.has(artifact.content_type) && artifact.size_bytes <= THUMBNAIL_MAX_BYTES;
}

/**
 * The bytes of one artifact of run `runId` (the attempt it was listed for) as a Blob of type
 * `type`: the caller chooses it, so the server's content type never decides how the browser
 * treats the bytes. Throws an ApiError (404 when it is gone, 401 when the key is refused).
 */
export async function fetchArtifact(
  runId: string,
  artifact: Artifact,
  type: string,
): Promise<Blob> {
  const blob = await call(
    api.GET("/v1/runs/{run_id}/artifacts/{step_id}/{name}", {
      params: {
        path: { run_id: runId, step_id: artifact.execution_id, name: artifact.name },
        query: { attempt: artifact.attempt },
      },
      parseAs: "blob",
    }),
  );
  return new Blob([blob], { type });
}

/**
 * Save one artifact under its own name: its bytes fetched with the key, given to the browser as
 * an `application/octet-stream` blob behind a link with `download`, so that nothing (an HTML or
 * SVG artifact included) is ever rendered.
 */
export async function downloadArtifact(runId: string, artifact: Artifact): Promise<void> {
  const blob = await fetchArtifact(runId, artifact, "application/octet-stream");
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement("a");
    link.href = url;
    link.download = artifact.name;
    link.rel = "noopener";
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // Revoking at once can cancel a download the browser has not started reading yet; a
    // minute later frees the bytes.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

/** "512 B", "1.5 KB", "2.0 MB" (1 KB = 1024 bytes). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
