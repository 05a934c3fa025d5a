/**
 * The pack's caches forget their least recently used entry when full, never everything at once (issue: one stack at
 * 10,000 tenants: a cache cleared wholesale at 10,000 entries made the policy phase superlinear).
 */
import { strict as assert } from "assert";
import { remember } from "../../policies/lib/actions";

describe("pack caches", () => {
    it("a full cache forgets its least recently used entry only; a hit keeps an entry", () => {
        const cache = new Map<string, number>();
        let made = 0;
        const get = (key: string) => remember(cache, key, () => ++made, 3);
        get("a");
        get("b");
        get("c");
        get("a"); // a is now the most recently used
        get("d"); // b goes
        assert.deepEqual([...cache.keys()], ["c", "a", "d"]);
        assert.equal(made, 4);
        get("a");
        get("c");
        assert.equal(made, 4, "hits make nothing");
        get("b");
        assert.equal(cache.size, 3);
        assert.equal(made, 5);
    });
});
