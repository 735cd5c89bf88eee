/** Reading a JWT's claims without verifying it (the server verifies; we only need `exp`). */
function base64UrlDecode(part) {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
}
/** The token's `exp` (seconds since the Unix epoch), or null when it cannot be read. */
export function tokenExpiry(token) {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[1] === undefined)
        return null;
    try {
        const claims = JSON.parse(base64UrlDecode(parts[1]));
        if (claims !== null && typeof claims === "object" && "exp" in claims) {
            const exp = claims.exp;
            return typeof exp === "number" && Number.isFinite(exp) ? exp : null;
        }
    }
    catch {
        return null;
    }
    return null;
}
