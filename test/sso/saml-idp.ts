import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';

/** A test IdP's signing key and self-signed certificate (openssl, as an IdP admin would make them). */
export function idpKeyPair(): { privateKey: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opssight-saml-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-idp', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { privateKey: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What an IdP reads from the redirect our SP made (HTTP-Redirect binding): the AuthnRequest's ID
 * (deflate + base64), which its response answers, and the RelayState, which it must echo unchanged.
 */
export function authnRequestOf(redirect: URL): { id: string; relayState: string | null } {
  const xml = inflateRawSync(Buffer.from(redirect.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return { id: /\sID="([^"]+)"/.exec(xml)![1]!, relayState: redirect.searchParams.get('RelayState') };
}

/** The form an IdP's page auto-posts to the ACS (HTTP-POST binding), the RelayState echoed when there was one. */
export const acsForm = (samlResponse: string, relayState: string | null) =>
  new URLSearchParams({ SAMLResponse: samlResponse, ...(relayState === null ? {} : { RelayState: relayState }) });

export type AssertionInput = {
  idpIssuer: string;
  audience: string;
  acsUrl: string;
  inResponseTo: string;
  nameId: string;
  email: string;
  groups: string[];
  /** Seconds from now; negative = already expired. */
  validForSeconds?: number;
  /** NotBefore, seconds from now (an IdP whose clock runs ahead of ours sets it in our future); default a minute ago. */
  notBeforeSeconds?: number;
  id?: string;
};

/**
 * A SAML 2.0 Response whose Assertion is signed (enveloped XML-DSig, RSA-SHA256, exclusive C14N) the way
 * IdPs sign with xml-crypto, the library node-saml verifies with. `sign: false` leaves it unsigned.
 */
export function samlResponse(key: { privateKey: string; cert: string }, a: AssertionInput, opts: { sign?: boolean } = {}): string {
  const now = new Date();
  const until = new Date(now.getTime() + (a.validForSeconds ?? 300) * 1000);
  const before = a.notBeforeSeconds === undefined ? new Date(Math.min(now.getTime(), until.getTime()) - 60_000) : new Date(now.getTime() + a.notBeforeSeconds * 1000);
  const id = a.id ?? `_a${crypto.randomUUID().replaceAll('-', '')}`;
  const attr = (name: string, values: string[]) =>
    `<saml:Attribute Name="${name}">${values.map((v) => `<saml:AttributeValue>${v}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  const assertion =
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>${a.idpIssuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${a.nameId}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${a.inResponseTo}" NotOnOrAfter="${until.toISOString()}" Recipient="${a.acsUrl}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${before.toISOString()}" NotOnOrAfter="${until.toISOString()}"><saml:AudienceRestriction><saml:Audience>${a.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attr('email', [a.email])}${attr('groups', a.groups)}</saml:AttributeStatement>` +
    `</saml:Assertion>`;
  let signed = assertion;
  if (opts.sign !== false) {
    const sig = new SignedXml({ privateKey: key.privateKey, publicCert: key.cert, signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
    sig.addReference({ xpath: "//*[local-name(.)='Assertion']", digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256', transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'] });
    sig.computeSignature(assertion, { location: { reference: "//*[local-name(.)='Issuer']", action: 'after' } });
    signed = sig.getSignedXml();
  }
  const response =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${crypto.randomUUID().replaceAll('-', '')}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${a.acsUrl}" InResponseTo="${a.inResponseTo}">` +
    `<saml:Issuer>${a.idpIssuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${signed}</samlp:Response>`;
  return Buffer.from(response).toString('base64');
}

/** IdP metadata as IdPs publish it, for the import endpoint. */
export const idpMetadata = (entityId: string, ssoUrl: string, cert: string) =>
  `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
  `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert.replace(/-----[^-]+-----|\s/g, '')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
  `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${ssoUrl}"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
