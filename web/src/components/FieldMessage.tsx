import type { FieldError } from '../client/http.ts';

/** The server's messages for one field, linked to its control by id (`aria-describedby`). */
export function FieldMessage({ id, field, errors }: { id: string; field: string; errors: FieldError[] }) {
  const mine = errors.filter((e) => e.field === field);
  if (!mine.length) return null;
  return (
    <ul class="field-errors" id={id} role="alert">
      {mine.map((e) => (
        <li key={e.message}>{e.message}</li>
      ))}
    </ul>
  );
}
