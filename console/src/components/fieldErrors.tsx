// API errors on the field their JSON pointer names; the rest stays for the banner.
import { ApiError } from "../api/client";

/** The messages of an API error's details whose pointer is `pointer` or lies under it. */
export function errorsAt(error: unknown, pointer: string): string[] {
  if (!(error instanceof ApiError)) return [];
  return error.details
    .filter((detail) => detail.pointer === pointer || detail.pointer.startsWith(`${pointer}/`))
    .map((detail) => detail.message);
}

/** The messages under a field, linked to it by `id` (for `aria-describedby`). */
export function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <p className="field-error" id={id} role="alert">
      {messages.join("; ")}
    </p>
  );
}
