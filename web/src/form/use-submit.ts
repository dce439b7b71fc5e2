import { useState } from 'preact/hooks';
import { ApiError, type FieldError } from '../client/http.ts';

/**
 * A form's submit cycle: run `action`, show its success message, or the server's field errors and
 * problem detail when it refuses. One place, so every admin form reports errors the same way.
 */
export function useSubmit(action: () => Promise<string>) {
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      setMessage(await action());
      setErrors([]);
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      setMessage(err instanceof ApiError ? err.message : 'The request failed.');
    }
  };
  return { errors, message, submit };
}
