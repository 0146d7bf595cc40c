// Sets a secret's value: a password field, sent once with PUT /v1/secrets/{name}, cleared
// after saving (and after a failure, so a value never lingers in the page).
import { useState, type FormEvent } from "react";
import { ApiError, api, call, type Schemas } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { FieldError, errorsAt } from "../../components/fieldErrors";

interface Props {
  /** The secret whose value to replace; absent: the name is asked for. */
  name?: string;
  onSaved: (secret: Schemas["SecretOut"]) => void;
  onCancel?: () => void;
}

export function SecretValueForm({ name, onSaved, onCancel }: Props) {
  const id = name ? `secret-${name}` : "secret-new";
  const [newName, setNewName] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
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

  const nameErrors = errorsAt(error, "/path/name");
  const valueErrors = errorsAt(error, "/value");
  const shown =
    error instanceof ApiError &&
    error.details.length > 0 &&
    nameErrors.length + valueErrors.length === error.details.length;
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
