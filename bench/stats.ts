/**
 * The little statistics `npm run bench` needs to call a ratio within or over a goal on a noisy machine: the
 * median of paired per-round ratios, and a distribution-free confidence interval for it.
 */

export function median(values: readonly number[]): number {
    if (values.length === 0) {
        throw new Error("median of no values");
    }
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An interval for the median, and how often such an interval covers the true median. */
export interface MedianInterval {
    low: number;
    high: number;
    /** The interval's coverage probability, whatever the distribution of the values. */
    coverage: number;
}

/**
 * The sign test's interval for the median: with n values sorted, [x(k), x(n+1-k)] covers the true median with
 * probability 1 - 2 P(B < k), B ~ Binomial(n, 1/2), whatever the values' distribution (no normality assumed,
 * and one outlying round moves it by one rank at most). Returns the narrowest such interval whose coverage is
 * at least `confidence`; with too few values for that, the full range and its (lower) coverage.
 */
export function medianInterval(values: readonly number[], confidence = 0.9): MedianInterval {
    const n = values.length;
    if (n === 0) {
        throw new Error("interval of no values");
    }
    const sorted = [...values].sort((a, b) => a - b);
    // below[k] = P(B < k), built from the binomial probabilities P(B = j) = C(n, j) / 2^n.
    const below = [0];
    let pj = Math.pow(0.5, n);
    for (let j = 0; j < n; j++) {
        below.push(below[j] + pj);
        pj = (pj * (n - j)) / (j + 1);
    }
    let k = 1;
    while (k + 1 <= n + 1 - (k + 1) && 1 - 2 * below[k + 1] >= confidence) {
        k++;
    }
    return { low: sorted[k - 1], high: sorted[n - k], coverage: 1 - 2 * below[k] };
}

/**
 * Where the goal lies against the median and its interval: `within` / `over` when the whole interval is at or
 * under / above the goal (proven at the interval's coverage), `withinByMedian` / `overByMedian` when only the
 * median is (the goal lies inside the interval: more rounds narrow it).
 */
export type Verdict = "within" | "withinByMedian" | "overByMedian" | "over";

export function verdict(middle: number, interval: MedianInterval, goal: number): Verdict {
    if (interval.high <= goal) {
        return "within";
    }
    if (interval.low > goal) {
        return "over";
    }
    return middle <= goal ? "withinByMedian" : "overByMedian";
}

export const VERDICT_TEXT: { [v in Verdict]: string } = {
    within: "within (the whole interval)",
    withinByMedian: "within by the median; the interval reaches above the goal",
    overByMedian: "OVER by the median; the interval reaches below the goal",
    over: "OVER (the whole interval)",
};
