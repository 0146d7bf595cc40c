// A step's network connections (egress), as the proxy recorded them.
import type { Schemas } from "../../api/client";

export function ConnectionsTable({ stepId, step }: { stepId: string; step: Schemas["StepRun"] }) {
  const connections = step.connections ?? [];
  const left = step.connections_not_recorded ?? 0;
  if (connections.length === 0 && left === 0) {
    return <p className="hint">No network connections.</p>;
  }
  return (
    <>
      <table aria-label={`Connections of step ${stepId}`} className="compact">
        <thead>
          <tr>
            <th scope="col">Host</th>
            <th scope="col">Address</th>
            <th scope="col">Method</th>
            <th scope="col">Allowed</th>
            <th scope="col">Bytes out / in</th>
            <th scope="col">Duration</th>
            <th scope="col">Attempt</th>
          </tr>
        </thead>
        <tbody>
          {connections.map((connection, index) => (
            <tr key={index}>
              <td>
                <code>
                  {connection.host}:{connection.port}
                </code>
              </td>
              <td>{connection.address ?? "—"}</td>
              <td>{connection.method}</td>
              <td>
                {connection.allowed ? "allowed" : "refused"}
                {connection.reason && <span className="hint"> ({connection.reason})</span>}
              </td>
              <td>
                {connection.bytes_out} / {connection.bytes_in}
              </td>
              <td>{connection.duration_ms} ms</td>
              <td>
                {connection.attempt || "—"}
                {connection.item != null && <span className="hint"> item {connection.item}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {left > 0 && <p className="hint">{left} more connections were not recorded.</p>}
    </>
  );
}
