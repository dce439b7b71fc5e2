/** Replaces every occurrence of a secret (longest first, so no fragment of a longer one survives). */
export function redactor(secrets: string[]): (line: string) => string {
  const needles = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (line) => line;
  return (line) => needles.reduce((acc, s) => acc.split(s).join('[redacted]'), line);
}
