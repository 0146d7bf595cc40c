// Sets a secret's value: a password field, sent once with PUT /v1/secrets/{name}, cleared
// after saving (and after a failure, so a value never lingers in the page).
import { useState, type FormEvent } from "react";
import { ApiError, api, call, type Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FieldError, errorsAt } from "../../components/fieldErrors";

// The API's rule (step_sdk.manifest SECRET_NAME_RULE), checked here too: a name with `/`, `.`
// or `..` in it would otherwise change the request's path before it reaches the API.
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_NAME_MAX = 100;
const SECRET_NAME_RULE = `letters, digits and underscores, not starting with a digit, at most ${SECRET_NAME_MAX} long`;

/** What is wrong with a secret name, worded as the API words it; "" when nothing is. */
export function secretNameProblem(name: string): string {
  if (SECRET_NAME.test(name) && name.length <= SECRET_NAME_MAX) return "";
  return `'${name.slice(0, SECRET_NAME_MAX)}' is not a secret name (${SECRET_NAME_RULE})`;
}

interface Props {
  /** The secret whose value to replace; absent: the name is asked for. */
  name?: string;
  onSaved: (secret: Schemas["SecretOut"]) => void;
  onCancel?: () => void;
  /** Told when a submit starts (the page clears its own notices). */
  onSubmit?: () => void;
}

export function SecretValueForm({ name, onSaved, onCancel, onSubmit }: Props) {
  const id = name ? `secret-${name}` : "secret-new";
  const [newName, setNewName] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  const [nameProblem, setNameProblem] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    onSubmit?.();
    setError(undefined);
    const problem = name ? "" : secretNameProblem(newName.trim());
    setNameProblem(problem);
    if (problem) return;
    setBusy(true);
    try {
      const saved = await call(
        api.PUT("/v1/secrets/{name}", {
          params: { path: { name: name ?? newName.trim() } },
          body: { value },
        }),
      );
      setNewName("");
      onSaved(saved);
    } catch (failure) {
      setError(failure);
    } finally {
      setValue("");
      setBusy(false);
    }
  };

  const nameErrors = [...(nameProblem ? [nameProblem] : []), ...errorsAt(error, "/path/name")];
  const valueErrors = errorsAt(error, "/value");
  const shown =
    error instanceof ApiError &&
    error.details.length > 0 &&
    errorsAt(error, "/path/name").length + valueErrors.length === error.details.length;
  return (
    <form
      className="secret-form"
      onSubmit={(event) => void submit(event)}
      aria-label={name ? `Replace ${name}` : "Set a secret"}
    >
      {!shown && <ErrorBanner error={error} />}
      {!name && (
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            value={newName}
            autoComplete="off"
            spellCheck={false}
            placeholder="e.g. SLACK_TOKEN"
            onChange={(event) => setNewName(event.target.value)}
            aria-invalid={nameErrors.length ? true : undefined}
            aria-describedby={nameErrors.length ? `${id}-name-error` : undefined}
            required
          />
          <FieldError id={`${id}-name-error`} messages={nameErrors} />
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-value`}>{name ? `New value for ${name}` : "Value"}</label>
        <input
          id={`${id}-value`}
          type="password"
          value={value}
          autoComplete="new-password"
          onChange={(event) => setValue(event.target.value)}
          aria-invalid={valueErrors.length ? true : undefined}
          aria-describedby={valueErrors.length ? `${id}-value-error` : undefined}
          required
        />
        <FieldError id={`${id}-value-error`} messages={valueErrors} />
      </div>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={busy}>
          {name ? "Save new value" : "Save secret"}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
