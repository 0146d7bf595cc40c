// What every page shows once the API refused the signed-in key (a 401 from any request, the
// run page's event stream included): say so, and offer the way back to the sign-in form.

export function KeyRefused({ onSignInAgain }: { onSignInAgain: () => void }) {
  return (
    <div className="error-banner key-refused" role="alert" aria-label="API key refused">
      <strong>Your API key was refused — sign in again.</strong>{" "}
      <span>
        The API no longer accepts it (revoked, or its workspace is gone). What this page shows may
        be out of date.
      </span>{" "}
      <button type="button" className="primary" onClick={onSignInAgain}>
        Sign in again
      </button>
    </div>
  );
}
