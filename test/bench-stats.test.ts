import * as assert from "assert";
import { median, medianInterval, verdict } from "../bench/stats";

/** P(B < k) for B ~ Binomial(n, 1/2), exactly, from integer binomial coefficients. */
function exactBelow(n: number, k: number): number {
    let sum = 0n;
    let c = 1n; // C(n, 0)
    for (let j = 0; j < k; j++) {
        sum += c;
        c = (c * BigInt(n - j)) / BigInt(j + 1);
    }
    return Number(sum) / 2 ** n;
}

describe("bench statistics (the verdict of npm run bench)", () => {
    it("takes the median of odd and even lists, whatever their order", () => {
        assert.strictEqual(median([3, 1, 2]), 2);
        assert.strictEqual(median([4, 1, 3, 2]), 2.5);
        assert.throws(() => median([]), /no values/);
    });

    it("gives the sign test's interval: 15 rounds -> the 4th and 12th smallest, 96.5% coverage", () => {
        const values = [1.3, 1.01, 1.12, 0.98, 1.05, 1.2, 1.08, 1.1, 1.07, 1.09, 1.25, 1.02, 1.11, 1.06, 1.15];
        const sorted = [...values].sort((a, b) => a - b);
        const i = medianInterval(values, 0.9);
        assert.strictEqual(i.low, sorted[3]);
        assert.strictEqual(i.high, sorted[11]);
        assert.ok(Math.abs(i.coverage - (1 - 2 * exactBelow(15, 4))) < 1e-12);
    });

    it("for every n up to 40, returns the narrowest interval that still has the asked coverage", () => {
        for (let n = 1; n <= 40; n++) {
            const values = Array.from({ length: n }, (_, i) => n - i); // descending: the function must sort
            const i = medianInterval(values, 0.9);
            const k = i.low; // values are 1..n, so the low end is its own rank
            assert.strictEqual(i.high, n + 1 - k, `n=${n}: symmetric ranks`);
            assert.ok(Math.abs(i.coverage - (1 - 2 * exactBelow(n, k))) < 1e-12, `n=${n}: coverage`);
            if (n >= 5) {
                assert.ok(i.coverage >= 0.9, `n=${n}: coverage ${i.coverage} is under 0.9`);
            }
            const narrower = k + 1;
            if (narrower <= n + 1 - narrower) {
                assert.ok(1 - 2 * exactBelow(n, narrower) < 0.9, `n=${n}: rank ${narrower} would also do, so ${k} is not the narrowest`);
            }
        }
    });

    it("falls back to the full range, and says its lower coverage, when there are too few rounds", () => {
        const i = medianInterval([1.2, 1.0, 1.1], 0.9);
        assert.deepStrictEqual([i.low, i.high], [1.0, 1.2]);
        assert.strictEqual(i.coverage, 0.75);
    });

    it("says whether the whole interval or only the median is within the goal", () => {
        assert.strictEqual(verdict(1.1, { low: 1.02, high: 1.15, coverage: 0.96 }, 1.15), "within");
        assert.strictEqual(verdict(1.2, { low: 1.16, high: 1.3, coverage: 0.96 }, 1.15), "over");
        assert.strictEqual(verdict(1.13, { low: 1.1, high: 1.2, coverage: 0.96 }, 1.15), "withinByMedian");
        assert.strictEqual(verdict(1.17, { low: 1.1, high: 1.2, coverage: 0.96 }, 1.15), "overByMedian");
    });
});
