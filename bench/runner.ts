/**
 * The runner's fan-out against a driver of fixed latency: K per-tenant stacks at concurrency C should take
 * ceil(K / C) x latency per phase (environment stacks, then tenants). Prints measured / ideal; the goal is
 * within 10%. A benchmark, not a test.
 */
import { OperationRequest, OperationResult, StackDriver } from "../automation/driver";
import { runOperation } from "../automation/orchestrate";
import { StackTarget } from "../automation/stacks";

class FixedLatencyDriver implements StackDriver {
    constructor(private readonly latencyMs: number) {}
    async prepare(): Promise<void> {}
    async run(request: OperationRequest): Promise<OperationResult> {
        request.onOutput(`${request.target.stack}: updating`);
        await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
        return { changes: { create: 4 } };
    }
}

function targets(environments: number, tenantsPerEnvironment: number): StackTarget[] {
    const list: StackTarget[] = [];
    for (let e = 0; e < environments; e++) {
        list.push({ stack: `env${e}`, role: "environment", environment: `env${e}`, config: {}, secrets: {}, settings: {}, tenants: [] });
    }
    for (let e = 0; e < environments; e++) {
        for (let t = 0; t < tenantsPerEnvironment; t++) {
            list.push({ stack: `env${e}.team-${t}`, role: "tenant", environment: `env${e}`, config: {}, secrets: {}, settings: {}, tenants: [] });
        }
    }
    return list;
}

export async function runnerBenchmark(): Promise<boolean> {
    const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 200);
    const cases = [
        { k: 100, c: 8 },
        { k: 100, c: 32 },
        { k: 500, c: 50 },
    ];
    console.log(`\nrunner fan-out: 1 environment stack + K tenant stacks, fake driver latency ${latencyMs} ms (goal: within 10% of ideal)`);
    console.log("K | C | ideal | measured | ratio");
    let within = true;
    for (const { k, c } of cases) {
        const all = targets(1, k);
        const ideal = (Math.ceil(1 / c) + Math.ceil(k / c)) * latencyMs;
        const silent = { started() {}, output() {}, finished() {} };
        const start = process.hrtime.bigint();
        const outcomes = await runOperation(new FixedLatencyDriver(latencyMs), "up", all, {
            concurrency: c,
            failFast: false,
            signal: new AbortController().signal,
            policyPacks: [],
            policyPackConfigs: [],
            progress: silent,
        });
        const measured = Number(process.hrtime.bigint() - start) / 1e6;
        if (outcomes.some((o) => o.result !== "succeeded")) throw new Error("a stack failed in the benchmark");
        const ratio = measured / ideal;
        within = within && ratio <= 1.1;
        console.log(`${k} | ${c} | ${ideal} ms | ${measured.toFixed(0)} ms | ${ratio.toFixed(3)}`);
    }
    console.log(within ? "within 10% of ideal" : "OVER 10% of ideal");
    return within;
}

if (require.main === module) {
    runnerBenchmark();
}
