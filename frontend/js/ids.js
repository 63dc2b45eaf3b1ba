// Attempt ids: time-based UUIDs (version 7: 48 bits of Unix milliseconds, then random
// bits), so ids made on many devices still sort by when the drawing started. Built
// from getRandomValues, which exists everywhere (crypto.randomUUID needs a secure
// origin, and a kiosk may be served over plain http on a LAN).

export function newAttemptId(now = Date.now()) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let time = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// An attempt's owner token, made with it: 192 random bits, like the server's own, sent with its frames (the
// server adopts it) and with its offline delivery, as proof that the attempt is this device's.
export function newOwnerToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
