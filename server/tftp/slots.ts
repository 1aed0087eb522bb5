// Transfer slots: one per client TID (ip:port, so a retransmitted RRQ is not
// a second transfer), bounded for the whole server and per source address.
// Without the per-address bound one host (or one spoofed address) could take
// every slot and lock real firmware out; with it, it takes `perAddress`.
export interface SlotLimits {
  total: number;
  perAddress: number;
}

export class Slots<T> {
  private readonly byKey = new Map<string, { address: string; value: T }>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: SlotLimits) {}

  get size(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): T | undefined {
    return this.byKey.get(key)?.value;
  }

  /** Why a new transfer from `address` cannot start now (the ERROR text), or undefined. */
  refusal(address: string): string | undefined {
    if ((this.perAddress.get(address) ?? 0) >= this.limits.perAddress) {
      return "too many transfers from your address";
    }
    if (this.byKey.size >= this.limits.total) return "server busy";
    return undefined;
  }

  add(key: string, address: string, value: T): void {
    if (this.byKey.has(key)) throw new Error(`tftp: slot ${key} is taken`);
    this.byKey.set(key, { address, value });
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** Frees the slot; returns what it held. Freeing a free slot is a no-op. */
  delete(key: string): T | undefined {
    const slot = this.byKey.get(key);
    if (!slot) return undefined;
    this.byKey.delete(key);
    const left = (this.perAddress.get(slot.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(slot.address, left);
    else this.perAddress.delete(slot.address);
    return slot.value;
  }

  /** Empties the table, returning what the slots held. */
  clear(): T[] {
    const values = [...this.byKey.values()].map((s) => s.value);
    this.byKey.clear();
    this.perAddress.clear();
    return values;
  }
}
