import { ApiError, describe } from "../api/client";

/** An error as the API worded it: its message, then each detail's JSON pointer and message. */
export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const details = error instanceof ApiError ? error.details : [];
  return (
    <div className="error-banner" role="alert">
      {title && <strong>{title}: </strong>}
      <span className="error-message">{describe(error)}</span>
      {details.length > 0 && (
        <ul className="error-details">
          {details.map((detail, index) => (
            <li key={index}>
              <code>{detail.pointer || "/"}</code> {detail.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
