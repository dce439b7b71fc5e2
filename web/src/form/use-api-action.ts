import { useState } from 'preact/hooks';
import { ApiError, type FieldError } from '../client/http.ts';

/**
 * Runs an API action for a form or button and keeps what to show: its success message, or the
 * server's field errors and problem detail when it refuses. One place, so every admin action reports
 * errors the same way.
 */
export function useApiAction() {
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [ok, setOk] = useState(true);
  const run = async (action: () => Promise<string>): Promise<boolean> => {
    try {
      setMessage(await action());
      setErrors([]);
      setOk(true);
      return true;
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      const text = err instanceof ApiError ? err.message : 'The request failed.';
      setMessage(`${text.charAt(0).toUpperCase()}${text.slice(1)}.`.replace(/\.\.$/, '.'));
      setOk(false);
      return false;
    }
  };
  /** For a form's onSubmit: no page reload, then `run`. */
  const submit = (action: () => Promise<string>) => (e: Event) => {
    e.preventDefault();
    void run(action);
  };
  return { errors, message, ok, run, submit };
}
