import { DomainError } from '../errors.ts';

/**
 * The provider is set up wrong (unreachable issuer, a client secret it refuses, clocks apart): the
 * user sees which setting to ask an admin about, the log says it with the provider's slug. 502, never
 * a 500: the fault is between us and the provider, not in the request.
 */
export class ProviderConfigError extends DomainError {
  readonly setting: string;
  constructor(provider: string, setting: string, message: string) {
    super(502, 'Identity provider misconfigured', `sign-in provider ${provider}: ${message} (check the setting ${setting})`, { setting, provider });
    this.setting = setting;
  }
}

/** The provider answered, but the answer does not let this person in (state mismatch, not in a mapped group, unverified email). */
export class SsoRefusedError extends DomainError {
  constructor(message: string) {
    super(401, 'Unauthenticated', message);
  }
}
