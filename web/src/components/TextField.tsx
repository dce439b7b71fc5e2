import type { ComponentChildren } from 'preact';
import type { FieldError } from '../client/http.ts';
import { FieldMessage } from './FieldMessage.tsx';

type Props = {
  id: string;
  label: string;
  /** The API's name for the field, so its errors appear here. */
  field: string;
  value: string;
  onInput: (value: string) => void;
  errors: FieldError[];
  type?: 'text' | 'email';
  placeholder?: string;
  spellcheck?: boolean;
  /** Shown beside the input (e.g. a "Generate" button). */
  children?: ComponentChildren;
};

/** A labelled, required text input with the server's messages for its field linked to it. */
export function TextField({ id, label, field, value, onInput, errors, type = 'text', placeholder, spellcheck, children }: Props) {
  const common = {
    id,
    value,
    required: true,
    onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value),
    'aria-describedby': `${id}-err`,
    placeholder,
    spellcheck,
  };
  // Preact types each input type separately, so the two are spelled out rather than passed through.
  const input = type === 'email' ? <input type="email" {...common} /> : <input type="text" {...common} />;
  return (
    <>
      <label class="label" for={id}>
        {label}
      </label>
      {children ? (
        <div class="inline-row">
          {input}
          {children}
        </div>
      ) : (
        input
      )}
      <FieldMessage id={`${id}-err`} field={field} errors={errors} />
    </>
  );
}
