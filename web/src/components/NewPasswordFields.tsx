/** A new password typed twice, with the server's (or the mismatch's) message linked to it. */
export function NewPasswordFields({ value, onInput, error }: { value: { password: string; confirm: string }; onInput: (v: { password: string; confirm: string }) => void; error: string | null }) {
  return (
    <>
      <label for="new-password" class="label">
        New password
      </label>
      <input
        id="new-password"
        type="password"
        autocomplete="new-password"
        required
        minLength={12}
        value={value.password}
        aria-invalid={error ? true : undefined}
        aria-describedby="new-password-help new-password-err"
        onInput={(e) => onInput({ ...value, password: e.currentTarget.value })}
      />
      <p class="help" id="new-password-help">
        At least 12 characters, not a common password and not your email; a few unrelated words work well.
      </p>
      <label for="confirm-password" class="label">
        New password again
      </label>
      <input id="confirm-password" type="password" autocomplete="new-password" required value={value.confirm} onInput={(e) => onInput({ ...value, confirm: e.currentTarget.value })} />
      {error && (
        <p class="field-errors" id="new-password-err" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
