/**
 * grpc-js puts the host of an https:// address in the TLS server name (SNI) even when it is an IP address, and Node
 * reports that with a DEP0123 deprecation warning on stderr. The connection is fine (the certificate is still checked
 * against the IP address), so the command-line tools drop that one warning; every other warning is printed as usual.
 */
export function dropIpServerNameWarning(): void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code === 'DEP0123') return;
    for (const print of printers) print(warning);
  });
}
