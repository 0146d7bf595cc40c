// The files a step saved (run artifacts): a table of name, type, size and a download button,
// and a thumbnail of each PNG, JPEG, GIF or WebP image. Bytes are fetched with the API key
// (api/artifacts.ts) and shown through blob: URLs; SVG, HTML and every other type are only
// ever downloaded, never rendered.
import { useEffect, useState } from "react";
import {
  type Artifact,
  downloadArtifact,
  fetchArtifact,
  formatSize,
  isThumbnail,
} from "../../api/artifacts";
import { describe } from "../../api/client";
import { Name } from "../../components/Name";

interface Props {
  runId: string;
  stepId: string;
  artifacts: Artifact[];
}

function keyOf(artifact: Artifact): string {
  return `${artifact.execution_id}\u0000${artifact.attempt}\u0000${artifact.name}`;
}

export function StepArtifacts({ runId, stepId, artifacts }: Props) {
  if (artifacts.length === 0) return <p className="hint">No artifacts.</p>;
  const thumbnails = artifacts.filter(isThumbnail);
  // a foreach step lists the files of each item's execution: say which one saved each file
  const perExecution = artifacts.some((artifact) => artifact.execution_id !== stepId);
  return (
    <>
      {thumbnails.length > 0 && (
        <ul className="artifact-thumbnails" aria-label={`Images of step ${stepId}`}>
          {thumbnails.map((artifact) => (
            <li key={keyOf(artifact)}>
              <Thumbnail runId={runId} artifact={artifact} />
            </li>
          ))}
        </ul>
      )}
      <table aria-label={`Artifacts of step ${stepId}`} className="compact">
        <thead>
          <tr>
            <th scope="col">Name</th>
            {perExecution && <th scope="col">Execution</th>}
            <th scope="col">Type</th>
            <th scope="col">Size</th>
            <th scope="col">
              <span className="visually-hidden">Download</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {artifacts.map((artifact) => (
            <ArtifactRow
              key={keyOf(artifact)}
              runId={runId}
              artifact={artifact}
              perExecution={perExecution}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

function ArtifactRow({
  runId,
  artifact,
  perExecution,
}: {
  runId: string;
  artifact: Artifact;
  perExecution: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const download = () => {
    setBusy(true);
    setError(undefined);
    downloadArtifact(runId, artifact).then(
      () => setBusy(false),
      (failure: unknown) => {
        setBusy(false);
        setError(describe(failure));
      },
    );
  };
  return (
    <tr>
      <td>
        <code>
          <Name>{artifact.name}</Name>
        </code>
      </td>
      {perExecution && (
        <td>
          <code>
            <Name>{artifact.execution_id}</Name>
          </code>
        </td>
      )}
      <td>{artifact.content_type}</td>
      <td title={`${artifact.size_bytes} bytes`}>{formatSize(artifact.size_bytes)}</td>
      <td>
        <button
          type="button"
          onClick={download}
          disabled={busy}
          aria-label={`Download ${artifact.name}`}
        >
          Download
        </button>
        {error && (
          <p className="field-error" role="alert">
            Download failed: {error}
          </p>
        )}
      </td>
    </tr>
  );
}

/** One image artifact, fetched once and shown from a blob: URL revoked when it leaves. */
function Thumbnail({ runId, artifact }: { runId: string; artifact: Artifact }) {
  const [url, setUrl] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { execution_id: executionId, attempt, name, content_type: type, digest } = artifact;
  useEffect(() => {
    let current: string | undefined;
    let gone = false;
    setUrl(undefined);
    setError(undefined);
    // the blob's type is the allow-listed raster type the row names, nothing the server sent
    fetchArtifact(runId, artifact, type).then(
      (blob) => {
        if (gone) return;
        current = URL.createObjectURL(blob);
        setUrl(current);
      },
      (failure: unknown) => gone || setError(describe(failure)),
    );
    return () => {
      gone = true;
      if (current) URL.revokeObjectURL(current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId, executionId, attempt, name, type, digest]);
  return (
    <figure className="artifact-thumbnail">
      {url && !error ? (
        <img src={url} alt={name} onError={() => setError("not an image the browser can show")} />
      ) : (
        <div className="artifact-placeholder" aria-hidden={!error}>
          {error ? `Not shown: ${error}` : "Loading…"}
        </div>
      )}
      <figcaption>
        <Name>{name}</Name>
      </figcaption>
    </figure>
  );
}
