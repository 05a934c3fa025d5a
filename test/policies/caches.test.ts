/**
 * The pack's caches keep what is in use and never clear wholesale (issue: one stack at 10,000 tenants: a cache
 * cleared at 10,000 entries made the policy phase superlinear, and so did an LRU over one Map).
 */
import { strict as assert } from "assert";
import { RecentCache, remember } from "../../policies/lib/actions";

describe("pack caches", () => {
    it("an entry in use survives any number of others; the size stays bounded", () => {
        const cache = new RecentCache<string, number>(100);
        let made = 0;
        const get = (key: string) => remember(cache, key, () => ++made);
        get("hot");
        for (let i = 0; i < 10_000; i++) {
            get(`cold-${i}`);
            if (i % 50 === 0) get("hot");
            assert.ok(cache.size <= 200);
        }
        const before = made;
        get("hot");
        assert.equal(made, before, "the hot entry was never dropped");
        get("cold-0");
        assert.equal(made, before + 1, "an old cold entry was");
    });
});
