// The curl line that fires a webhook, signed the way ui_api/webhooks/signatures.py checks it:
// X-Stepwell-Timestamp (unix seconds) and X-Stepwell-Signature: sha256=<hex HMAC-SHA256 of
// "<timestamp>.<raw body>" keyed with the signing secret's UTF-8 bytes>.

/** A word for a POSIX shell, in single quotes. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export const SECRET_PLACEHOLDER = "<your signing secret>";

/** One line for a POSIX shell (bash, sh) that POSTs `body` to the webhook. */
export function curlLine(url: string, body: string, signing?: { secret?: string }): string {
  const post = `curl -sS -X POST ${shellQuote(url)} -H 'Content-Type: application/json'`;
  if (!signing) return `${post} -d ${shellQuote(body)}`;
  return [
    `secret=${shellQuote(signing.secret ?? SECRET_PLACEHOLDER)}`,
    `body=${shellQuote(body)}`,
    "ts=$(date +%s)",
    `sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.* //')`,
    `${post} -H "X-Stepwell-Timestamp: $ts" -H "X-Stepwell-Signature: sha256=$sig" -d "$body"`,
  ].join("; ");
}
