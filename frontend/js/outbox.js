// Attempts finished while the server could not be reached, kept in IndexedDB until they are delivered
// (POST /api/deliveries, docs/offline.md): a reload, a closed tab or a restarted kiosk loses none.
// Delivery is exactly once: the server takes an attempt id it already has as a no-op, so a retry after a
// lost answer, or two tabs delivering at once, cannot store it twice; a label given while its drawing is on
// the way is sent once more, and the server keeps it. An entry the server refuses as bad
// input (a 4xx other than 429) is dropped with a console line saying why, never retried forever;
// a 5xx, a 429 or no network keeps it for the next try.

const DATABASE = "digits-offline";
const STORE = "attempts";
const RETRY_MS = [5000, 10000, 30000, 60000];

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "attempt_id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transaction(mode, work) {
  const database = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = database.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      // A request's result (undefined for a key that is not there), else what the work returned.
      tx.oncomplete = () => resolve(result instanceof IDBRequest ? result.result : result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    database.close();
  }
}

// Read an entry and change it in the same transaction (so nothing else changes it in between); resolves to
// the entry as it was read, undefined when there is none.
function update(attemptId, change) {
  return transaction("readwrite", (store) => {
    const request = store.get(attemptId);
    request.onsuccess = () => change(store, request.result);
    return request;
  });
}

export class Outbox extends EventTarget {
  constructor({ endpoint = "/api/deliveries" } = {}) {
    super();
    this.endpoint = endpoint;
    this.delivering = null;
    this.failures = 0;
    this.timer = null;
    this.waiting = 0;
    this.count().catch(() => {});
  }

  // Keep a finished offline attempt (a later final of the same attempt replaces it).
  async put(entry) {
    await transaction("readwrite", (store) => store.put(entry));
    await this.count();
  }

  // Label a waiting entry, in one transaction (a delivery settling it meanwhile cannot be undone by it);
  // false when it is not waiting any more: delivered, so the label goes over REST.
  async label(attemptId, label) {
    const found = await update(attemptId, (store, entry) => {
      if (entry) store.put({ ...entry, label });
    });
    return Boolean(found);
  }

  all() {
    return transaction("readonly", (store) => store.getAll());
  }

  async remove(attemptId) {
    await transaction("readwrite", (store) => store.delete(attemptId));
    await this.count();
  }

  // Forget a delivered entry, unless it changed while it was on its way (labelled, or drawn on and kept
  // again): then it stays, and is returned to be sent again (the server keeps the label of an attempt it has).
  async settle(sent) {
    const unchanged = (entry) => entry?.label === sent.label && entry?.drawn_at === sent.drawn_at;
    const current = await update(sent.attempt_id, (store, entry) => {
      if (unchanged(entry)) store.delete(sent.attempt_id);
    });
    await this.count();
    return current && !unchanged(current) ? current : null;
  }

  async count() {
    this.waiting = await transaction("readonly", (store) => store.count());
    this.dispatchEvent(new CustomEvent("count", { detail: this.waiting }));
    return this.waiting;
  }

  // Deliver everything waiting, oldest first; one run at a time (per tab, and across tabs where the
  // browser has Web Locks). Resolves to the number delivered.
  deliver() {
    this.delivering ??= (navigator.locks
      ? navigator.locks.request("digits-outbox", () => this.deliverAll())
      : this.deliverAll()
    ).finally(() => {
      this.delivering = null;
    });
    return this.delivering;
  }

  async deliverAll() {
    clearTimeout(this.timer);
    let delivered = 0;
    const entries = (await this.all()).sort((a, b) => a.drawn_at - b.drawn_at);
    const sentAgain = new Set(); // entries that changed on their way: counted once, when first delivered
    for (const entry of entries) {
      const outcome = await this.send(entry);
      if (outcome === "retry") {
        this.failures += 1;
        const wait = RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)];
        this.timer = setTimeout(() => this.deliver(), wait);
        return delivered;
      }
      if (outcome === "dropped") {
        await this.remove(entry.attempt_id);
        continue;
      }
      if (!sentAgain.has(entry.attempt_id)) delivered += 1;
      const again = await this.settle(entry);
      if (again) {
        sentAgain.add(again.attempt_id);
        entries.push(again); // labelled or drawn on while on its way: sent once more
      }
    }
    this.failures = 0;
    if (delivered) this.dispatchEvent(new CustomEvent("delivered", { detail: delivered }));
    return delivered;
  }

  // "delivered", "dropped" (refused as bad input: never sent again) or "retry".
  async send(entry) {
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(entry),
      });
    } catch {
      return "retry"; // no network, or the server is still down
    }
    if (response.ok) return "delivered";
    if (response.status === 429 || response.status === 408 || response.status >= 500) return "retry";
    let error = {};
    try {
      error = (await response.json()).error ?? {};
    } catch {
      // not JSON: a proxy's page
    }
    console.warn(
      `digits: dropped offline attempt ${entry.attempt_id}: the server refused it (HTTP ${response.status}` +
        ` ${error.code ?? "?"}: ${error.message ?? ""}); it is not sent again`,
    );
    return "dropped";
  }
}
