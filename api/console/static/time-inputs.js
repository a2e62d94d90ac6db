// <input type="datetime-local"> speaks local wall time; the API speaks RFC 3339 in UTC.

/** "2026-05-01T10:00:00" (local) → "2026-05-01T08:00:00.000Z"; "" stays "". */
export function fromLocalInput(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.valueOf()) ? "" : date.toISOString();
}

/** An RFC 3339 instant → the local wall time a datetime-local input shows ("" if none). */
export function toLocalInput(instant) {
  if (!instant) return "";
  const date = new Date(instant);
  if (Number.isNaN(date.valueOf())) return "";
  const pad = (number) => String(number).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}
