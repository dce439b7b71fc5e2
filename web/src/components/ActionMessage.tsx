/** What an admin action answered: a success as a status notice, a refusal as an error the screen reader announces. */
export function ActionMessage({ message, ok }: { message: string | null; ok: boolean }) {
  if (!message) return null;
  return (
    <p class={ok ? 'notice' : 'error'} role={ok ? 'status' : 'alert'} data-testid="action-message">
      {message}
    </p>
  );
}
