import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, put, type FieldError } from '../client/http.ts';

type Contact = { phone: string | null; pushTokens: string[] };

/** Where escalations reach the user beyond email: the phone SMS steps text, the devices push steps reach. */
export function ContactSection() {
  const [phone, setPhone] = useState('');
  const [tokens, setTokens] = useState('');
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const show = (c: Contact) => {
    setPhone(c.phone ?? '');
    setTokens(c.pushTokens.join('\n'));
  };
  useEffect(() => void get<Contact>('/api/v1/me/contact').then(show, () => setMessage({ ok: false, text: 'Your paging contact could not be loaded.' })), []);
  const errorOf = (field: string) => errors.filter((e) => e.field === field || e.field.startsWith(`${field}.`)).map((e) => e.message).join('; ') || null;

  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const list = tokens.split('\n').map((t) => t.trim()).filter(Boolean);
      show(await put<Contact>('/api/v1/me/contact', { phone: phone.trim() || null, pushTokens: list }));
      setErrors([]);
      setMessage({ ok: true, text: 'Saved: escalations that notify you by SMS or push reach these.' });
    } catch (err) {
      setErrors(err instanceof ApiError ? err.errors : []);
      setMessage({ ok: false, text: err instanceof ApiError ? `Not saved: ${err.message}.` : 'The server could not be reached.' });
    }
  };

  return (
    <form class="card" id="account-contact" aria-labelledby="contact-title" onSubmit={(e) => void save(e)}>
      <h2 id="contact-title">Paging contact</h2>
      {message && (
        <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
      <label for="contact-phone" class="label">
        Phone for SMS pages (E.164, e.g. +15551234567)
      </label>
      <input id="contact-phone" type="tel" autocomplete="tel" value={phone} aria-invalid={errorOf('phone') ? true : undefined} onInput={(e) => setPhone(e.currentTarget.value)} />
      {errorOf('phone') && <p class="field-errors">{errorOf('phone')}</p>}
      <label for="contact-devices" class="label">
        Device tokens for push pages (one per line)
      </label>
      <textarea id="contact-devices" rows={3} value={tokens} aria-invalid={errorOf('pushTokens') ? true : undefined} onInput={(e) => setTokens(e.currentTarget.value)} />
      {errorOf('pushTokens') && <p class="field-errors">{errorOf('pushTokens')}</p>}
      <button type="submit">Save paging contact</button>
    </form>
  );
}
