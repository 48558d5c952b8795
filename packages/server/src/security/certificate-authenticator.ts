/**
 * Client-certificate authentication (issue 14 §3): a TLS client certificate that the listener verified
 * against `tls.ca` names the principal, from its subject CN or from a subject alternative name of a
 * configured type. Without a verified certificate it abstains.
 */
import type { AuthenticationResult, Authenticator, Credentials } from "../core/security/types.js";

/** Where the principal of a client certificate comes from (`tls.principalFrom`). */
export type CertificatePrincipalSource = "commonName" | "dns" | "email" | "uri" | "none";

/** The alternative-name prefixes Node writes in `subjectaltname`, by source. */
const SAN_PREFIX = { dns: "DNS:", email: "email:", uri: "URI:" } as const;

/** Lets a verified client certificate in as the principal it names. */
export class CertificateAuthenticator implements Authenticator {
  constructor(private readonly from: Exclude<CertificatePrincipalSource, "none">) {}

  /** Authenticator: allow as the certificate's principal; abstain without a certificate or a name. */
  authenticate(credentials: Credentials): Promise<AuthenticationResult> {
    const principal = certificatePrincipal(credentials.certificate, this.from);
    return Promise.resolve(
      principal === undefined ? { decision: "abstain" } : { decision: "allow", principal },
    );
  }
}

/** The principal a certificate names: its CN, or its first alternative name of the type asked for. */
export function certificatePrincipal(
  certificate: Credentials["certificate"],
  from: Exclude<CertificatePrincipalSource, "none">,
): string | undefined {
  if (!certificate) return undefined;
  if (from === "commonName") return certificate.commonName || undefined;
  const prefix = SAN_PREFIX[from];
  const name = certificate.altNames.find((n) => n.startsWith(prefix));
  return name === undefined ? undefined : name.slice(prefix.length) || undefined;
}
