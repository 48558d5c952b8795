/**
 * A map for the common case of one entry: it holds a single key and value in itself and makes a `Map`
 * only for a second entry (and drops it when back to one). An idle MQTT session with one subscription
 * kept a `Map` of one entry, about 180 bytes; this is 40 (issue 11, memory per connection).
 */
export class SmallMap<K, V> {
  private oneKey: K | undefined;
  private oneValue: V | undefined;
  /** Whether `oneKey`/`oneValue` hold an entry (a key or value may itself be undefined). */
  private hasOne = false;
  /** Two or more entries: all of them are here, and `hasOne` is false. */
  private many: Map<K, V> | undefined;

  get size(): number {
    return this.many !== undefined ? this.many.size : this.hasOne ? 1 : 0;
  }

  has(key: K): boolean {
    if (this.many !== undefined) return this.many.has(key);
    return this.hasOne && this.oneKey === key;
  }

  get(key: K): V | undefined {
    if (this.many !== undefined) return this.many.get(key);
    return this.hasOne && this.oneKey === key ? this.oneValue : undefined;
  }

  set(key: K, value: V): this {
    if (this.many !== undefined) this.many.set(key, value);
    else if (!this.hasOne || this.oneKey === key) {
      this.oneKey = key;
      this.oneValue = value;
      this.hasOne = true;
    } else {
      this.many = new Map<K, V>([
        [this.oneKey as K, this.oneValue as V],
        [key, value],
      ]);
      this.dropOne();
    }
    return this;
  }

  delete(key: K): boolean {
    const many = this.many;
    if (many === undefined) {
      if (!this.hasOne || this.oneKey !== key) return false;
      this.dropOne();
      return true;
    }
    if (!many.delete(key)) return false;
    if (many.size === 1) {
      const [k, v] = many.entries().next().value as [K, V];
      this.many = undefined;
      this.oneKey = k;
      this.oneValue = v;
      this.hasOne = true;
    }
    return true;
  }

  clear(): void {
    this.many = undefined;
    this.dropOne();
  }

  /** The values, in insertion order. */
  values(): IterableIterator<V> {
    if (this.many !== undefined) return this.many.values();
    return (this.hasOne ? [this.oneValue as V] : []).values();
  }

  /** The keys, in insertion order. */
  keys(): IterableIterator<K> {
    if (this.many !== undefined) return this.many.keys();
    return (this.hasOne ? [this.oneKey as K] : []).values();
  }

  private dropOne(): void {
    this.oneKey = undefined;
    this.oneValue = undefined;
    this.hasOne = false;
  }
}
